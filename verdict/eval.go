package verdict

// EvalSection is the evidence of the record's pinned eval suite, as the
// replay report shows it: the suite run again on the replay's session and
// compared, paired per item, with the stored run of the record's system on
// it.
type EvalSection struct {
	Suite        string `json:"suite"`
	SuiteName    string `json:"suite_name"`
	SuiteVersion string `json:"suite_version"`
	// BaselineRun is the stored run reproduced; Run the new one (stored).
	BaselineRun string `json:"baseline_run"`
	Run         string `json:"run"`
	RunSeed     int64  `json:"run_seed"`
	Epochs      int    `json:"epochs"`
	Items       int    `json:"items"`
	// MeanBaseline and MeanReplay are the mean scores over the paired
	// items; Diff = MeanReplay − MeanBaseline, [Lower, Upper] its 1 − 2·Level
	// paired t interval, which the TOST decides with.
	MeanBaseline float64 `json:"mean_baseline"`
	MeanReplay   float64 `json:"mean_replay"`
	Diff         float64 `json:"mean_diff"`
	Lower        float64 `json:"diff_lower"`
	Upper        float64 `json:"diff_upper"`
	Margin       float64 `json:"margin"`
	// Level is the eval check's share of the record's alpha; TOSTP the
	// TOST's p-value (equivalent when below Level).
	Level float64 `json:"level"`
	TOSTP float64 `json:"tost_p"`
	// Test and PValue are the paired difference test (McNemar for 0/1
	// scores, else Wilcoxon signed rank), reported, not decided on.
	Test     string     `json:"test"`
	PValue   float64    `json:"p_value"`
	Flipped  []EvalFlip `json:"flipped"`
	Verdict  Verdict    `json:"verdict"`
	Warnings []string   `json:"warnings,omitempty"`
	RunsMS   float64    `json:"runs_ms"`
}

// EvalFlip is an item that passed in one run and failed in the other (per-item
// mean ≥ 0.5 is a pass): A in the stored run, B in the replayed one.
type EvalFlip struct {
	Item string  `json:"item"`
	A    float64 `json:"a"`
	B    float64 `json:"b"`
}
