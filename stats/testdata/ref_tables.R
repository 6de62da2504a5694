# Reference values for r×c tables: fisher.test (network algorithm, FEXACT)
# and chisq.test with Monte-Carlo p-values. Run: Rscript stats/testdata/ref_tables.R
# Its output is stats/testdata/ref_tables.out; stats/fisher_rxc_test.go and
# stats/contingency_mc_test.go hold the values, each with its R call.
options(digits = 17)
f <- function(x) sprintf("%.17g", x)
tabs <- list(
  t3x4 = matrix(c(10, 12, 8, 5, 7, 15, 9, 11, 12, 8, 14, 16), 3, byrow = TRUE),      # N = 127
  t5x5 = matrix(c(5, 3, 4, 2, 6, 2, 6, 3, 5, 4, 4, 2, 7, 3, 4, 3, 5, 2, 6, 4, 6, 4, 5, 3, 3), 5, byrow = TRUE), # N = 101
  t2x5 = matrix(c(5, 1, 2, 0, 1, 2, 3, 1, 4, 2), 2, byrow = TRUE),
  t3x3 = matrix(c(3, 0, 7, 1, 9, 0, 0, 1, 12), 3, byrow = TRUE),
  t3x4b = matrix(c(3, 0, 7, 1, 2, 9, 0, 4, 0, 1, 1, 12), 3, byrow = TRUE),
  t4x4 = matrix(c(8, 2, 1, 5, 3, 9, 4, 2, 1, 3, 10, 4, 6, 2, 3, 9), 4, byrow = TRUE),  # N = 72
  t3x5 = matrix(c(20, 15, 10, 12, 8, 11, 18, 14, 9, 13, 7, 12, 19, 16, 10), 3, byrow = TRUE) # N = 194
)
for (nm in names(tabs)) {
  m <- tabs[[nm]]
  ws <- 200000
  r <- tryCatch(fisher.test(m, workspace = ws), error = function(e) NULL)
  while (is.null(r)) { ws <- ws * 4; r <- tryCatch(fisher.test(m, workspace = ws), error = function(e) NULL) }
  el <- median(replicate(3, system.time(fisher.test(m, workspace = ws))[["elapsed"]]))
  cat(sprintf("fisher %s N=%d p=%s workspace=%d seconds=%.3f call=fisher.test(matrix(c(%s), %d, byrow = TRUE), workspace = %d)\n",
    nm, sum(m), f(r$p.value), ws, el, paste(t(m), collapse = ", "), nrow(m), ws))
}
# Monte-Carlo p-values: the tables of the chi-square benchmarks, B = 1e6 (standard error < 5e-4).
set.seed(13)
for (m in list(matrix(c(12, 7, 5, 9), 2, byrow = TRUE), tabs$t3x4)) {
  r <- chisq.test(m, simulate.p.value = TRUE, B = 1e6)
  cat(sprintf("chisq-mc p=%s statistic=%s call=chisq.test(matrix(c(%s), %d, byrow = TRUE), simulate.p.value = TRUE, B = 1e6)\n",
    f(r$p.value), f(r$statistic), paste(t(m), collapse = ", "), nrow(m)))
  t <- replicate(5, system.time(chisq.test(m, simulate.p.value = TRUE, B = 1e5))[["elapsed"]])
  cat(sprintf("chisq-mc-time %dx%d B=1e5 median=%.3f s\n", nrow(m), ncol(m), median(t)))
}
m <- tabs$t3x4
r <- fisher.test(m, simulate.p.value = TRUE, B = 1e6)
cat(sprintf("fisher-mc p=%s call=fisher.test(matrix(c(%s), 3, byrow = TRUE), simulate.p.value = TRUE, B = 1e6)\n", f(r$p.value), paste(t(m), collapse = ", ")))
# The 6×6 table of cmd/reprise/testdata/stats/table-6x6.txt (too large for the exact test there).
m <- matrix(c(14, 6, 10, 9, 11, 10, 5, 16, 8, 11, 10, 10, 10, 9, 17, 4, 10, 11, 11, 10, 5, 16, 8, 10, 8, 11, 10, 10, 15, 6, 10, 10, 11, 10, 4, 16), 6, byrow = TRUE)
r <- fisher.test(m, simulate.p.value = TRUE, B = 1e5)
cat(sprintf("fisher-mc 6x6 N=%d p=%s call=fisher.test(matrix(c(%s), 6, byrow = TRUE), simulate.p.value = TRUE, B = 1e5)\n", sum(m), f(r$p.value), paste(t(m), collapse = ", ")))
cat(R.version.string, "\n")
