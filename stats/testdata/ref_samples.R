# Reference values for stats/{ks,mannwhitney,wilcoxon}_test.go (KS, Mann-Whitney, Wilcoxon
# signed-rank), from R's ks.test and wilcox.test.
#
#   Rscript stats/testdata/ref_samples.R > stats/testdata/ref_samples_R.out
#
# Each case is an R call on literal data; the script evaluates exactly that
# text and prints one Go table row with the call, the data, the statistic
# and the p-value at full precision (%.17g). Generated with R 4.2.2.

set.seed(20240611)
lit <- function(x) paste0("c(", paste(format(x, digits = 15, trim = TRUE), collapse = ", "), ")")
r2 <- function(x) round(x, 2)

cases <- list()
add <- function(test, alt, method, call, tol) {
  cases[[length(cases) + 1L]] <<- list(test = test, alt = alt, method = method, call = call, tol = tol)
}

# --- Kolmogorov-Smirnov (ks.test) ---
x <- c(0.61, 1.2, -0.3); y <- c(2.1, 3.3, 1.9, 2.8)
add("ks", "two.sided", "exact", sprintf("ks.test(%s, %s, exact = TRUE)", lit(x), lit(y)), 1e-9)
x <- r2(rnorm(20)); y <- r2(rnorm(25, 0.6))
add("ks", "two.sided", "exact", sprintf("ks.test(%s, %s, exact = TRUE)", lit(x), lit(y)), 1e-9)
add("ks", "greater", "exact", sprintf("ks.test(%s, %s, exact = TRUE, alternative = \"greater\")", lit(x), lit(y)), 1e-9)
add("ks", "less", "exact", sprintf("ks.test(%s, %s, exact = TRUE, alternative = \"less\")", lit(x), lit(y)), 1e-9)
x <- sample(1:5, 15, TRUE); y <- sample(2:6, 18, TRUE)   # heavy ties
add("ks", "two.sided", "exact", sprintf("ks.test(%s, %s, exact = TRUE)", lit(x), lit(y)), 1e-9)
x <- c(1, 1, 2, 2, 2, 3); y <- c(2, 3, 3, 4, 4, 5, 5)
add("ks", "two.sided", "exact", sprintf("ks.test(%s, %s, exact = TRUE)", lit(x), lit(y)), 1e-9)
x <- c(0.3, 2.5, 7.1); y <- r2(rnorm(60, 2))                # lopsided
add("ks", "two.sided", "auto", sprintf("ks.test(%s, %s)", lit(x), lit(y)), 1e-9)
x <- r2(rnorm(80)); y <- r2(rnorm(120, 0.45))
add("ks", "two.sided", "asymptotic", sprintf("ks.test(%s, %s, exact = FALSE)", lit(x), lit(y)), 1e-6)
add("ks", "greater", "asymptotic", sprintf("ks.test(%s, %s, exact = FALSE, alternative = \"greater\")", lit(x), lit(y)), 1e-6)
x <- r2(rnorm(110)); y <- r2(rt(100, 3) + 0.5)              # n*m >= 10000: auto is asymptotic
add("ks", "two.sided", "auto", sprintf("ks.test(%s, %s)", lit(x), lit(y)), 1e-6)

# --- Mann-Whitney (wilcox.test, unpaired) ---
x <- c(1.83, 0.5, 1.62, 2.48, 1.68); y <- c(0.88, 0.65, 0.6, 2.05, 1.06, 1.29, 1.06 + 0.01)
add("mwu", "two.sided", "auto", sprintf("wilcox.test(%s, %s)", lit(x), lit(y)), 1e-9)
add("mwu", "greater", "auto", sprintf("wilcox.test(%s, %s, alternative = \"greater\")", lit(x), lit(y)), 1e-9)
add("mwu", "less", "auto", sprintf("wilcox.test(%s, %s, alternative = \"less\")", lit(x), lit(y)), 1e-9)
x <- sample(0:6, 10, TRUE); y <- sample(2:8, 12, TRUE)   # ties: normal with correction
add("mwu", "two.sided", "auto", sprintf("wilcox.test(%s, %s)", lit(x), lit(y)), 1e-9)
x <- r2(rnorm(2, 1)); y <- r2(rnorm(40))                 # lopsided exact
add("mwu", "two.sided", "auto", sprintf("wilcox.test(%s, %s)", lit(x), lit(y)), 1e-9)
x <- r2(runif(60)); y <- r2(runif(70) + 0.1)
add("mwu", "two.sided", "auto", sprintf("wilcox.test(%s, %s)", lit(x), lit(y)), 1e-9)
x <- r2(rnorm(12)); x <- x + seq_along(x) * 1e-3; y <- r2(rnorm(9, 1)) + 0.005
add("mwu", "two.sided", "asymptotic", sprintf("wilcox.test(%s, %s, exact = FALSE)", lit(x), lit(y)), 1e-9)
x <- (1:20) + 0.5; y <- (1:25) + 100                     # far tail, exact
add("mwu", "two.sided", "auto", sprintf("wilcox.test(%s, %s)", lit(x), lit(y)), 1e-9)
x <- (1:150) / 4; y <- (1:160) / 4 + 30.1                # far tail, normal
add("mwu", "less", "auto", sprintf("wilcox.test(%s, %s, alternative = \"less\")", lit(x), lit(y)), 1e-9)

# --- Wilcoxon signed rank (wilcox.test, paired) ---
a <- c(1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06); b <- c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.063, 3.14)
add("wsr", "two.sided", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE)", lit(a), lit(b)), 1e-9)
add("wsr", "greater", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE, alternative = \"greater\")", lit(a), lit(b)), 1e-9)
add("wsr", "less", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE, alternative = \"less\")", lit(a), lit(b)), 1e-9)
a <- sample(1:9, 14, TRUE); b <- sample(1:9, 14, TRUE)    # zeros and ties
add("wsr", "two.sided", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE)", lit(a), lit(b)), 1e-9)
a <- c(5, 7, 7, 9, 10, 12, 4, 6, 8); b <- c(5, 6, 5, 6, 10, 8, 3, 7, 5)   # zeros
add("wsr", "greater", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE, alternative = \"greater\")", lit(a), lit(b)), 1e-9)
a <- r2(rnorm(60, 0.3)); b <- r2(rnorm(60))
add("wsr", "two.sided", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE)", lit(a), lit(b)), 1e-9)
a <- r2(rnorm(15)); b <- r2(rnorm(15))
add("wsr", "two.sided", "asymptotic", sprintf("wilcox.test(%s, %s, paired = TRUE, exact = FALSE)", lit(a), lit(b)), 1e-9)
a <- (1:45) / 8 + 0.01; b <- rep(0, 45)                  # far tail, exact
add("wsr", "two.sided", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE)", lit(a), lit(b)), 1e-9)
a <- (1:200) / 16 + 0.01; b <- c(rep(0, 195), 13, 13, 13, 13, 13)   # far tail, normal
add("wsr", "greater", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE, alternative = \"greater\")", lit(a), lit(b)), 1e-9)
a <- c(1.5, 2); b <- c(1, 3)                               # tiny
add("wsr", "two.sided", "auto", sprintf("wilcox.test(%s, %s, paired = TRUE)", lit(a), lit(b)), 1e-9)

alts <- c(two.sided = "TwoSided", less = "Less", greater = "Greater")
meths <- c(auto = "PValueAuto", exact = "PValueExact", asymptotic = "PValueAsymptotic")
golit <- function(v) paste0("[]float64{", paste(format(v, digits = 15, trim = TRUE), collapse = ", "), "}")
for (cs in cases) {
  r <- suppressWarnings(eval(parse(text = cs$call)))
  e <- parse(text = cs$call)[[1]]
  a <- eval(e[[2]]); b <- eval(e[[3]])
  cat(sprintf("{test: \"%s\", call: %s, a: %s, b: %s, alt: %s, method: %s, stat: %.17g, p: %.17g, tol: %g},\n",
              cs$test, encodeString(cs$call, quote = "`"), golit(a), golit(b), alts[[cs$alt]], meths[[cs$method]],
              unname(r$statistic), r$p.value, cs$tol))
}
