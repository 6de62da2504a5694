package nightly

import (
	"fmt"
	"slices"
)

// The stages of a record's replay, as Progress names them.
const stageReplay = "replay"

// stageConfirm names confirming stage i (from 0) of ConfirmStages.
func stageConfirm(i int) string { return fmt.Sprintf("confirming %d/%d", i+1, ConfirmStages) }

// enter returns the run callback (replay.Options.Progress) of record id's
// stage name, of total runs (a cap when sequential; the callback's total
// replaces it): each run counts towards the night's runs and is reported.
func (n *night) enter(id, name string, total int, sequential bool) func(done, total int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := &Stage{RequestID: id, Name: name, Total: total, Sequential: sequential}
	if i := slices.IndexFunc(n.active, func(s *Stage) bool { return s.RequestID == id }); i >= 0 {
		n.active[i] = st
	} else {
		n.active = append(n.active, st)
	}
	return func(done, total int) {
		n.mu.Lock()
		defer n.mu.Unlock()
		st.Total = total
		if done > st.Done {
			n.prog.Runs += done - st.Done
			if n.activeRuns == nil {
				n.activeRuns = map[string]int{}
			}
			n.activeRuns[id] += done - st.Done
			st.Done = done
		}
		n.report(false)
	}
}

// leave drops record id from the active records (under mu).
func (n *night) leave(id string) {
	n.active = slices.DeleteFunc(n.active, func(s *Stage) bool { return s.RequestID == id })
	delete(n.activeRuns, id)
}

// report calls Options.Progress with the night's progress (under mu).
func (n *night) report(finished bool) {
	if n.opts.Progress == nil {
		return
	}
	p := n.prog
	p.Finished = finished
	p.Elapsed = n.now().Sub(n.started)
	p.Active = make([]Stage, len(n.active))
	for i, s := range n.active {
		p.Active[i] = *s
	}
	n.opts.Progress(p)
}
