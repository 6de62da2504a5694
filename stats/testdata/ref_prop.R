# Reference values for the proportion, table, paired-0/1, multiple-testing,
# power and TOST tests of package stats. Run: Rscript stats/testdata/ref_prop.R
# It prints Go table rows; stats/reference_prop_test.go holds its output,
# each row carrying the R call that produced it.
f <- function(x) sprintf("%.17g", x)
row <- function(call, ...) cat(sprintf("\t{%s, %s},\n", paste(..., sep = ", "), deparse(call, width.cutoff = 500L)))
q <- function(e) { s <- paste(deparse(e, width.cutoff = 500L), collapse = ""); sprintf("%s", encodeString(s, quote = '"')) }

cat("// binom: k, n, p, alternative, conf -> p.value, lower, upper\n")
for (a in list(
  list(7, 20, 0.5, "two.sided", 0.95), list(0, 10, 0.5, "two.sided", 0.95), list(10, 10, 0.5, "two.sided", 0.95),
  list(3, 1000, 0.5, "two.sided", 0.95), list(682, 925, 0.75, "two.sided", 0.95), list(1, 50, 0.01, "two.sided", 0.95),
  list(15, 20, 0.3, "greater", 0.95), list(2, 30, 0.2, "less", 0.95), list(427, 500, 0.5, "two.sided", 0.99),
  list(5, 6, 0.9, "two.sided", 0.95), list(60, 100, 0.52, "two.sided", 0.9), list(1, 2000, 0.05, "two.sided", 0.95),
  list(0, 5000, 0.01, "two.sided", 0.95), list(2, 100000, 0.001, "two.sided", 0.95), list(50, 100, 0.5, "two.sided", 0.95),
  list(0, 1, 0.5, "two.sided", 0.95), list(998, 1000, 0.9, "greater", 0.99), list(40, 41, 0.999, "less", 0.9))) {
  e <- bquote(binom.test(.(a[[1]]), .(a[[2]]), p = .(a[[3]]), alternative = .(a[[4]]), conf.level = .(a[[5]])))
  r <- eval(e)
  cat(sprintf("\t{%d, %d, %s, %s, %s, %s, %s, %s, %s},\n", a[[1]], a[[2]], f(a[[3]]), encodeString(a[[4]], quote='"'), f(a[[5]]),
    f(r$p.value), f(r$conf.int[1]), f(r$conf.int[2]), q(e)))
}
cat("// wilson: k, n, conf -> lower, upper\n")
for (a in list(list(427, 500, 0.95), list(0, 500, 0.95), list(3, 20, 0.95), list(20, 20, 0.99), list(1, 3, 0.9))) {
  e <- bquote(prop.test(.(a[[1]]), .(a[[2]]), conf.level = .(a[[3]]), correct = FALSE)$conf.int)
  r <- suppressWarnings(eval(e))
  cat(sprintf("\t{%d, %d, %s, %s, %s, %s},\n", a[[1]], a[[2]], f(a[[3]]), f(r[1]), f(r[2]), q(e)))
}
cat("// wilson one-sided: k, n, conf, alternative -> lower, upper\n")
for (a in list(list(427, 500, 0.95, "less"), list(3, 20, 0.9, "greater"), list(0, 40, 0.95, "less"), list(40, 40, 0.95, "greater"))) {
  e <- bquote(prop.test(.(a[[1]]), .(a[[2]]), conf.level = .(a[[3]]), alternative = .(a[[4]]), correct = FALSE)$conf.int)
  r <- suppressWarnings(eval(e))
  cat(sprintf("\t{%d, %d, %s, %s, %s, %s, %s},\n", a[[1]], a[[2]], f(a[[3]]), encodeString(a[[4]], quote = '"'), f(r[1]), f(r[2]), q(e)))
}
cat("// chisq and G: 2 x k table rows -> statistic, df, p.value\n")
for (t in list(c(30, 20, 10, 25, 25, 10), c(5, 1, 2, 8), c(90, 10, 0, 60, 30, 10), c(1000, 0, 500, 500), c(12, 7, 3, 1, 9, 10, 4, 6),
  c(300, 100, 50, 30, 20, 100, 200, 100, 60, 40), c(1, 0, 0, 1))) {
  m <- matrix(t, nrow = 2, byrow = TRUE)
  e <- bquote(chisq.test(matrix(.(t), nrow = 2, byrow = TRUE), correct = FALSE))
  r <- suppressWarnings(eval(e))
  E <- outer(rowSums(m), colSums(m)) / sum(m)
  G <- 2 * sum(ifelse(m > 0, m * log(m / E), 0))
  pg <- pchisq(G, (nrow(m) - 1) * (ncol(m) - 1), lower.tail = FALSE)
  cat(sprintf("\t{[]float64{%s}, %s, %d, %s, %s, %s, %s},\n", paste(t, collapse = ", "), f(r$statistic), r$parameter, f(r$p.value), f(G), f(pg),
    encodeString(paste0(paste(deparse(e, width.cutoff = 500L), collapse = ""), "; G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"), quote = '"')))
}
cat("// fisher: table (by row), rows -> p.value\n")
for (a in list(list(c(3, 1, 1, 3), 2), list(c(10, 2, 3, 15), 2), list(c(100, 0, 0, 100), 2), list(c(0, 5, 5, 0), 2), list(c(1, 9, 11, 3), 2),
  list(c(2, 3, 4, 5, 1, 0, 3, 2, 6), 3), list(c(3, 1, 0, 2, 4, 3), 2), list(c(8, 2, 1, 1, 5, 7), 2),
  list(c(12, 0, 2, 0, 12, 2), 2), list(c(1, 0, 0, 0, 1, 0, 0, 0, 1), 3), list(c(5, 0, 3, 1, 0, 4, 2, 6), 2), list(c(0, 1, 1, 0), 2))) {
  e <- bquote(fisher.test(matrix(.(a[[1]]), nrow = .(a[[2]]), byrow = TRUE))$p.value)
  cat(sprintf("\t{[]float64{%s}, %d, %s, %s},\n", paste(a[[1]], collapse = ", "), a[[2]], f(eval(e)), q(e)))
}
cat("// mcnemar: b (a=1,b=0), c (a=0,b=1), plus concordant n11, n00 -> chisq, p, exact p, mid-p\n")
for (a in list(c(10, 3, 20, 15), c(25, 5, 40, 30), c(7, 7, 3, 3), c(0, 12, 5, 5), c(1, 30, 100, 100), c(4, 2, 1, 1), c(0, 60, 10, 10), c(1, 0, 0, 0))) {
  b <- a[1]; cc <- a[2]
  m <- matrix(c(a[3], b, cc, a[4]), 2, byrow = TRUE)
  e1 <- bquote(mcnemar.test(matrix(c(.(a[3]), .(b), .(cc), .(a[4])), 2, byrow = TRUE)))
  r <- eval(e1)
  ex <- binom.test(b, b + cc)$p.value
  x <- min(b, cc); n <- b + cc
  midp <- min(1, 2 * (pbinom(x, n, 0.5) - 0.5 * dbinom(x, n, 0.5)))
  cat(sprintf("\t{%d, %d, %d, %d, %s, %s, %s, %s, %s},\n", b, cc, a[3], a[4], f(r$statistic), f(r$p.value), f(ex), f(midp),
    encodeString(paste0(paste(deparse(e1, width.cutoff = 500L), collapse = ""), sprintf("; binom.test(%d, %d)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)", b, b + cc)), quote = '"')))
}
cat("// p.adjust: p -> BH, BY, holm\n")
for (p in list(c(0.01, 0.04, 0.03, 0.005, 0.5), c(0.2, 0.2, 0.01, 0.9, 0.04, 0.04), c(1e-15, 0.3, 1), c(0.05), c(0, 0, 0.5, 0.5, 1e-300, 1))) {
  cat(sprintf("\t{[]float64{%s}, []float64{%s}, []float64{%s}, []float64{%s}, %s},\n",
    paste(f(p), collapse = ", "), paste(f(p.adjust(p, "BH")), collapse = ", "), paste(f(p.adjust(p, "BY")), collapse = ", "),
    paste(f(p.adjust(p, "holm")), collapse = ", "), encodeString(sprintf("p.adjust(c(%s), method)", paste(p, collapse = ", ")), quote = '"')))
}
cat("// power.prop.test: p1, p2, sig.level, power -> n ; n -> power\n")
for (a in list(c(0.5, 0.75, 0.05, 0.9), c(0.1, 0.15, 0.01, 0.8), c(0.95, 0.99, 0.05, 0.5), c(0.01, 0.02, 0.05, 0.8))) {
  e <- bquote(power.prop.test(p1 = .(a[1]), p2 = .(a[2]), sig.level = .(a[3]), power = .(a[4]), tol = 1e-12)$n)
  n <- eval(e)
  e2 <- bquote(power.prop.test(n = 50, p1 = .(a[1]), p2 = .(a[2]), sig.level = .(a[3]))$power)
  cat(sprintf("\t{%s, %s, %s, %s, %s, %s, %s},\n", f(a[1]), f(a[2]), f(a[3]), f(a[4]), f(n), f(eval(e2)),
    encodeString(paste(paste(deparse(e, width.cutoff = 500L), collapse = ""), "/", paste(deparse(e2, width.cutoff = 500L), collapse = "")), quote = '"')))
}
cat("// TOST mean: a, b, margin, paired -> p lower, p upper\n")
A <- c(5.1, 4.9, 5.3, 5.0, 5.2, 4.8, 5.1, 5.0); B <- c(5.0, 5.2, 5.1, 4.9, 5.3, 5.0, 5.2, 4.9, 5.1)
B8 <- B[1:8]
for (a in list(list(A, B, 0.3, FALSE), list(A, B, 0.05, FALSE), list(A, B8, 0.3, TRUE))) {
  pl <- t.test(a[[1]], a[[2]], mu = -a[[3]], alternative = "greater", paired = a[[4]])$p.value
  pu <- t.test(a[[1]], a[[2]], mu = a[[3]], alternative = "less", paired = a[[4]])$p.value
  cat(sprintf("\t{[]float64{%s}, []float64{%s}, %s, %s, %s, %s, %s},\n", paste(a[[1]], collapse = ", "), paste(a[[2]], collapse = ", "), f(a[[3]]),
    tolower(a[[4]]), f(pl), f(pu), encodeString(sprintf("t.test(a, b, mu = -%g, alternative = \"greater\", paired = %s); t.test(a, b, mu = %g, alternative = \"less\", paired = %s)", a[[3]], a[[4]], a[[3]], a[[4]]), quote = '"')))
}
cat("// TOST proportion: k, n, p0, margin -> p lower, p upper\n")
for (a in list(c(85, 100, 0.85, 0.1), c(500, 1000, 0.5, 0.05), c(3, 10, 0.5, 0.1))) {
  pl <- binom.test(a[1], a[2], a[3] - a[4], alternative = "greater")$p.value
  pu <- binom.test(a[1], a[2], a[3] + a[4], alternative = "less")$p.value
  cat(sprintf("\t{%d, %d, %s, %s, %s, %s, %s},\n", a[1], a[2], f(a[3]), f(a[4]), f(pl), f(pu),
    encodeString(sprintf("binom.test(%d, %d, %g, alternative = \"greater\"); binom.test(%d, %d, %g, alternative = \"less\")", a[1], a[2], a[3] - a[4], a[1], a[2], a[3] + a[4]), quote = '"')))
}
