// Package verdict turns replayed outputs into a verdict on a stored output:
// REPRODUCED (exact or behavioral), DIVERGED, INCONCLUSIVE, or ERROR when the
// replay could not be completed.
//
// Each kind of evidence is a Check, and what the stored output holds picks
// the checks that apply: a new kind of output adds a Check, not a branch.
// Checks are the ones every replay runs: LabelFrequency (the stored label's
// frequency among the replays, exact binomial test and Clopper–Pearson
// interval), TextConformal (for a text without a label: the conformal
// p-value of its spectrum-kernel distance to the replayed texts, deciding
// only with resolution, 1/(n+1) ≤ level/TextResolution, and sequentially
// at TextLooks fixed looks with its level split over them; with the
// exact-match rate TextExactRate reported beside it) and ScoreRank (the
// stored score's conformal rank among the scores of replays with the same
// label). Callers add checks of their own as extra: ReferenceChecks compares
// the replays with reference outputs drawn at decision time (labels, scores,
// texts; a difference test and an equivalence within Rules.Margin each).
// Rules holds every threshold, with its defaults written once
// (DefaultRules).
//
// Evaluate runs the applicable checks on a fixed number of replays;
// EvaluateSequential runs them after each batch of a replay that stops as
// soon as the verdict is settled (anytime-valid SequentialChecks with
// curtailment, reference checks at fixed looks, other checks once at the run
// cap; futility when the cap cannot settle it). Both combine the findings
// in one place:
//
//   - REPRODUCED (exact) when the pinned seed gave back the stored output;
//   - DIVERGED (exact) when it did not, and the SeedProbe (the pinned seed
//     run a second time, an extra check with its share of alpha) shows the
//     system deterministic given the seed;
//   - DIVERGED when any check rejects the stored output at its level;
//   - REPRODUCED (behavioral) when at least one check supports it, none is
//     undecided, and every applicable check had the power to reject (no
//     verdict without power);
//   - INCONCLUSIVE otherwise, with the number of runs that would settle it.
//
// The false-alarm rate is stated: Rules.Alpha bounds the probability that an
// honest record (the replayed system is the recorded one) is called DIVERGED,
// across all its checks together. Each of the c applicable checks runs at
// level Alpha/c (Bonferroni; DIVERGED is the union of the rejections, which is
// also the global decision of Holm's procedure), and each check's rejection is
// a valid p-value at most its level.
//
// A SystemCheck (the record's pinned eval suite, run on the replay's
// session before its runs) votes like the others, and an exact match does
// not overrule it: the decision came back, but the record is DIVERGED when
// the system check rejects and INCONCLUSIVE when it does not settle. This is
// the one decision point of replay, nightly and evals, with one Verdict
// type. Decide is the sequential stopping rule a replay applies after each
// batch of runs (LookAt: when it looks).
//
// CompareSystems is the two-system test on one input (counterfactual
// replay, rollout comparisons): the outputs of two
// systems on the same request compared per aspect (labels by Fisher's exact
// test, scores by Kolmogorov–Smirnov, texts by MMD²), each with an upper
// confidence bound on its distance, so that SAME (every bound below
// Rules.Margin) is a positive claim beside DIFFERENT and INCONCLUSIVE.
//
// It imports output and stats only.
package verdict
