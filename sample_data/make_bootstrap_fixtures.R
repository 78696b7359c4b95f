# Reference numbers from R's mclust for gmmcli's bootstrap (gmmcli bootstrap, select --lrt);
# tests/test_bootstrap_mclust.py reads them (the tests themselves need no R).
#
# Run from the repository root:  Rscript sample_data/make_bootstrap_fixtures.R
# Needs R's mclust (Debian: apt-get install r-cran-mclust; written against mclust 6.0.0).
# Reads sample_data/faithful.csv and writes
#   tests/fixtures/mclust/bootstrap_faithful_eee.json
#       Mclust(X, G = 3, modelNames = "EEE") (its pro, mean, variance and loglik), then
#       MclustBootstrap(fit, nboot = 999, type = T) for T in bs (nonparametric), wlbs (weighted
#       likelihood), pb (parametric) and jk (jackknife: n refits): per type the standard errors of
#       summary(boot, what = "se") and the intervals of summary(boot, what = "ci") for pro and mean,
#       and the number of replicates that failed (nonfit). Components are in mclust's order.
#   tests/fixtures/mclust/bootstrap_lrt_faithful_vvv.json
#       mclustBootstrapLRT(X, modelName = "VVV", nboot = 999, maxG = 3): the observed statistic
#       2 (loglik(G + 1) - loglik(G)) and the bootstrap p-value (1 + #{boot >= obs}) / (nboot + 1)
#       for G = 1, 2, 3, and the decision at level 0.05 (reject: p <= 0.05). With maxG given,
#       mclust tests every G up to maxG instead of stopping at the first non-rejection.
#       Also the fits the test compares, summary(mclustBIC(X, G = 1:4, "VVV"), X, G): loglik, pro,
#       mean and sigma per G (mclust's G = 3 fit is a local optimum, loglik -1127.2, where EM from
#       other starts reaches -1114.4: gmmcli's test runs from these fits to compare like with like).
# Each computation runs under set.seed(SEED); its elapsed seconds are recorded as well.
# Numbers are written by sample_data/fixture_json.R (shortest %.15g/%.16g/%.17g that reads back).

suppressPackageStartupMessages(library(mclust))
source(file.path("sample_data", "fixture_json.R"))

OUT_DIR <- file.path("tests", "fixtures", "mclust")
FAITHFUL_CSV <- file.path("sample_data", "faithful.csv")
SEED <- 20260101L
NBOOT <- 999L
LEVEL <- 0.05
TYPES <- c("bs", "wlbs", "pb", "jk")

vec <- function(x) I(as.numeric(x))
columns_of <- function(m) lapply(seq_len(ncol(m)), function(k) I(as.numeric(m[, k])))  # d x G -> per component

header <- function() list(
  generator = "sample_data/make_bootstrap_fixtures.R",
  mclust_version = as.character(packageVersion("mclust")),
  r_version = paste(R.version$major, R.version$minor, sep = "."),
  seed = SEED)

write_fixture <- function(name, fx) {
  dir.create(OUT_DIR, recursive = TRUE, showWarnings = FALSE)
  path <- file.path(OUT_DIR, paste0(name, ".json"))
  writeLines(json(fx), path)
  cat("wrote", path, "\n")
}

faithful_X <- function() {
  raw <- read.csv(FAITHFUL_CSV)
  X <- as.matrix(raw[, c("eruptions", "waiting")])
  storage.mode(X) <- "double"
  X
}

one_type <- function(fit, type) {
  set.seed(SEED)
  seconds <- system.time(boot <- MclustBootstrap(fit, nboot = NBOOT, type = type, verbose = FALSE))[["elapsed"]]
  se <- summary(boot, what = "se")
  ci <- summary(boot, what = "ci", conf.level = 0.95)
  cat(sprintf("MclustBootstrap %s: %.1f s, %d failed\n", type, seconds, boot$nonfit))
  list(nboot = boot$nboot, nonfit = boot$nonfit, seconds = seconds,
       se = list(pro = vec(se$pro), mean = columns_of(se$mean)),
       ci = list(pro_lower = vec(ci$pro[1, ]), pro_upper = vec(ci$pro[2, ]),
                 mean_lower = columns_of(ci$mean[1, , ]), mean_upper = columns_of(ci$mean[2, , ])))
}

bootstrap_fixture <- function(X) {
  fit <- Mclust(X, G = 3, modelNames = "EEE", verbose = FALSE)
  stopifnot(fit$G == 3, fit$modelName == "EEE")
  p <- fit$parameters
  by_type <- lapply(setNames(TYPES, TYPES), function(type) one_type(fit, type))
  c(header(), list(
    data = FAITHFUL_CSV, columns = I(colnames(X)), n = nrow(X), G = 3L, model = "EEE",
    call = "MclustBootstrap(Mclust(X, G = 3, modelNames = \"EEE\"), nboot = 999, type = type)",
    loglik = fit$loglik,
    estimate = list(pro = vec(p$pro), mean = columns_of(p$mean), sigma = lapply(seq_len(3), function(k)
      lapply(1:2, function(i) I(as.numeric(p$variance$sigma[i, , k]))))),
    types = by_type))
}

vvv_fit <- function(BIC, X, g) {
  s <- summary(BIC, X, G = g, modelNames = "VVV")
  p <- s$parameters
  mean <- matrix(p$mean, nrow = ncol(X))
  sigma <- array(p$variance$sigma, c(ncol(X), ncol(X), g))
  list(G = g, loglik = s$loglik, pro = vec(rep_len(p$pro, g)), mean = columns_of(mean),
       sigma = lapply(seq_len(g), function(k) lapply(seq_len(ncol(X)), function(i) I(as.numeric(sigma[i, , k])))))
}

lrt_fixture <- function(X) {
  BIC <- mclustBIC(X, G = 1:4, modelNames = "VVV", verbose = FALSE)
  fits <- lapply(1:4, function(g) vvv_fit(BIC, X, g))
  set.seed(SEED)
  seconds <- system.time(lrt <- mclustBootstrapLRT(X, modelName = "VVV", nboot = NBOOT, maxG = 3,
                                                   verbose = FALSE))[["elapsed"]]
  print(lrt)
  c(header(), list(
    data = FAITHFUL_CSV, columns = I(colnames(X)), model = "VVV", nboot = NBOOT, level = LEVEL,
    call = "mclustBootstrapLRT(X, modelName = \"VVV\", nboot = 999, maxG = 3)",
    seconds = seconds,
    G = I(as.integer(lrt$G)), obs = vec(lrt$obs), p_value = vec(lrt$p.value),
    reject = I(lrt$p.value <= LEVEL), fits = fits))
}

X <- faithful_X()
write_fixture("bootstrap_faithful_eee", bootstrap_fixture(X))
write_fixture("bootstrap_lrt_faithful_vvv", lrt_fixture(X))
