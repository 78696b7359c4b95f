# Reference numbers from R's mclust (and prabclus's NNclean) for mclust's uniform NOISE
# component, so that gmmcli's tests can compare against them without R.
#
# Run from the repository root:  Rscript sample_data/make_noise_fixtures.R
# Needs R's mclust (written against mclust 6.0.0) and prabclus (2.3.2; for NNclean).
# Writes
#   sample_data/chevron.csv                    mclust's `chevron` data: x, y, noise (1 = class "noise")
#   tests/fixtures/mclust/noise_hypvol.json    hypvol() and its two box volumes, four data sets
#   tests/fixtures/mclust/noise_nnclean.json   prabclus::NNclean(X, k = 5) on chevron and faithful
#   tests/fixtures/mclust/noise_steps.json     chevron: one M-step / E-step with noise, and me()
#                                              to convergence, from a fixed starting z
#   tests/fixtures/mclust/noise_nparams.json   nMclustParams with and without noise; the G = 0 BIC
#   tests/fixtures/mclust/noise_bic_chevron.json   mclustBIC(G = 1:5) with NNclean noise + Mclust
#   tests/fixtures/mclust/noise_bic_faithful.json  the same on faithful
# Inputs are read back from sample_data/*.csv, so the numbers are those our reader sees.
# Per-row vectors are stored only where needed (0/1 labels, k-th NN distances).
# Numbers are written by sample_data/fixture_json.R (shortest %.15g/%.16g/%.17g that reads back).

suppressPackageStartupMessages({
  library(mclust)
  library(prabclus)
})
source(file.path("sample_data", "fixture_json.R"))

OUT_DIR <- file.path("tests", "fixtures", "mclust")
CHEVRON_CSV <- file.path("sample_data", "chevron.csv")
FAITHFUL_CSV <- file.path("sample_data", "faithful.csv")
IRIS_CSV <- file.path("sample_data", "iris.csv")
STEP_MODELS <- c("EII", "VII", "EEI", "VVI", "EEE", "EVI", "VEV", "VVV", "EEV", "VVE")
DEFAULT_CONTROL <- emControl()
# mstep and the one-iteration me: iterate the inner M-step loops (VEV, VVE) to 1e-14
MSTEP_CONTROL <- emControl(tol = c(DEFAULT_CONTROL$tol[1], 1e-14),
                           itmax = c(DEFAULT_CONTROL$itmax[1], 100000L))
ME_ONE_STEP <- emControl(tol = c(DEFAULT_CONTROL$tol[1], 1e-14), itmax = c(1L, 100000L))
K_NN <- 5L
STEP_G <- 2L

rows <- function(m) lapply(seq_len(nrow(m)), function(i) I(as.numeric(m[i, ])))
vec <- function(x) I(as.numeric(x))
ivec <- function(x) I(as.integer(x))

header <- function() list(
  generator = "sample_data/make_noise_fixtures.R",
  mclust_version = as.character(packageVersion("mclust")),
  prabclus_version = as.character(packageVersion("prabclus")),
  r_version = paste(R.version$major, R.version$minor, sep = "."))

write_fixture <- function(name, fx) {
  dir.create(OUT_DIR, recursive = TRUE, showWarnings = FALSE)
  path <- file.path(OUT_DIR, paste0(name, ".json"))
  writeLines(json(fx), path)
  cat("wrote", path, "\n")
}

read_X <- function(path, columns) {
  raw <- read.csv(path)
  X <- as.matrix(raw[, columns, drop = FALSE])
  storage.mode(X) <- "double"
  X
}

# ------------------------------------------------------------------ chevron.csv
data("chevron", package = "mclust", envir = environment())
chev <- data.frame(x = as.numeric(chevron$x), y = as.numeric(chevron$y),
                   noise = as.integer(chevron$class == "noise"))
writeLines(c("x,y,noise",
             paste(vapply(chev$x, num, ""), vapply(chev$y, num, ""), chev$noise, sep = ",")),
           CHEVRON_CSV)
back <- read.csv(CHEVRON_CSV)
stopifnot(identical(back$x, chev$x), identical(back$y, chev$y),
          identical(as.integer(back$noise), chev$noise))
cat("wrote", CHEVRON_CSV, "\n")

X_chev <- read_X(CHEVRON_CSV, c("x", "y"))
true_noise <- read.csv(CHEVRON_CSV)$noise == 1
X_faith <- read_X(FAITHFUL_CSV, c("eruptions", "waiting"))
X_iris <- read_X(IRIS_CSV, c("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"))
X_wait <- read_X(FAITHFUL_CSV, "waiting")

# ------------------------------------------------------------------ 1. hypvol
hypvol_entry <- function(name, path, columns, X) {
  ranges <- apply(X, 2, function(col) diff(range(col)))
  entry <- list(dataset = name, source = path, columns = I(columns), n = nrow(X), d = ncol(X),
                hypvol = hypvol(X), hypvol_reciprocal = hypvol(X, reciprocal = TRUE),
                axis_ranges = vec(ranges),
                axis_box_volume = prod(ranges), axis_box_log_volume = sum(log(ranges)))
  if (ncol(X) == 1) {
    stopifnot(hypvol(X) == diff(range(X)))
    return(c(entry, list(pca_box_volume = NULL, pca_box_log_volume = NULL, chosen = "range",
                         note = "one column: hypvol returns diff(range(x)) before any PCA")))
  }
  pc <- princomp(X)
  pc_ranges <- apply(pc$scores, 2, function(col) diff(range(col)))
  # the same box from numpy-style ingredients: eigenvectors of the covariance
  # (any divisor) of the centred data; ranges do not depend on centring
  v <- svd(scale(X, center = TRUE, scale = FALSE), nu = 0)$v
  svd_ranges <- apply(X %*% v, 2, function(col) diff(range(col)))
  stopifnot(abs(sum(log(svd_ranges)) - sum(log(pc_ranges))) < 1e-10)
  axis_log <- sum(log(ranges))
  pca_log <- sum(log(pc_ranges))
  stopifnot(all.equal(hypvol(X), exp(min(axis_log, pca_log)), tolerance = 0))
  c(entry, list(pca_box_volume = prod(pc_ranges), pca_box_log_volume = pca_log,
                pca_ranges = vec(pc_ranges),
                pca_loadings = rows(unclass(pc$loadings)),
                pca_eigenvalues_divisor_n = vec(pc$sdev^2),
                pca_center = vec(pc$center),
                pca_box_log_volume_via_svd = sum(log(svd_ranges)),
                chosen = if (axis_log <= pca_log) "axis" else "pca"))
}

write_fixture("noise_hypvol", c(header(), list(
  definition = paste("hypvol(X) = exp(min(sum(log(apply(X, 2, range widths))),",
                     "sum(log(range widths of princomp(X)$scores))));",
                     "one column: diff(range(x)); reciprocal = exp(-that log volume)"),
  datasets = list(
    hypvol_entry("faithful", FAITHFUL_CSV, c("eruptions", "waiting"), X_faith),
    hypvol_entry("iris", IRIS_CSV, colnames(X_iris), X_iris),
    hypvol_entry("chevron", CHEVRON_CSV, c("x", "y"), X_chev),
    hypvol_entry("faithful_waiting", FAITHFUL_CSV, "waiting", X_wait)))))

# ------------------------------------------------------------------ 2. NNclean
# A line-by-line copy of NNclean's EM on the k-th NN distances (edge.correct = FALSE),
# run on NNclean's own kthNND, to expose the starting values, the iteration count and
# the trace; checked to land on NNclean's numbers exactly.
nnclean_trace <- function(kthNND, k, d, convergence = 0.001) {
  n <- length(kthNND)
  dDk <- function(x, lambda) (exp(-lambda * alpha.d * x^d) * 2 * (lambda * alpha.d)^k *
                                x^(d * k - 1)) / gamma(k)
  alpha.d <- (2 * pi^(d / 2)) / (d * gamma(d / 2))
  threshold <- min(kthNND) + diff(range(kthNND)) / 3
  delta <- as.numeric(kthNND > threshold)
  p <- 0.5
  lambda1 <- k / (alpha.d * mean((kthNND[delta == 0])^d))
  lambda2 <- k / (alpha.d * mean((kthNND[delta == 1])^d))
  start <- list(threshold = threshold, n_above_threshold = sum(delta), p = p,
                lambda1 = lambda1, lambda2 = lambda2)
  loglik.old <- 0
  loglik.new <- 1
  trace <- list()
  while (abs((loglik.new - loglik.old) / loglik.new) > convergence) {
    f1 <- dDk(kthNND, lambda1)
    f2 <- dDk(kthNND, lambda2)
    delta <- (p * f1) / (p * f1 + (1 - p) * f2)
    delta[is.na(delta)] <- 0
    p <- sum(delta) / n
    if (p > 0) lambda1 <- (k * sum(delta)) / (alpha.d * sum((kthNND^d) * delta))
    if (p < 1) lambda2 <- (k * sum(1 - delta)) / (alpha.d * sum((kthNND^d) * (1 - delta)))
    if (p <= 0) lambda1 <- lambda2 / 2
    if (p >= 1) lambda2 <- 2 * lambda1
    loglik.old <- loglik.new
    loglik.new <- sum(-p * lambda1 * alpha.d * ((kthNND^d) * delta) -
                        (1 - p) * lambda2 * alpha.d * ((kthNND^d) * (1 - delta)) +
                        delta * k * log(lambda1 * alpha.d) + (1 - delta) * k * log(lambda2 * alpha.d))
    trace[[length(trace) + 1]] <- list(p = p, lambda1 = lambda1, lambda2 = lambda2,
                                       criterion = loglik.new)
  }
  list(alpha_d = alpha.d, start = start, trace = trace, p = p, lambda1 = lambda1, lambda2 = lambda2)
}

nnclean_entry <- function(name, path, columns, X, truth = NULL) {
  nn <- NNclean(X, k = K_NN)
  D <- as.matrix(dist(X))
  diag(D) <- Inf
  brute <- apply(D, 1, function(r) sort(r)[K_NN])
  stopifnot(max(abs(brute - nn$kthNND)) == 0)
  tr <- nnclean_trace(nn$kthNND, K_NN, ncol(X))
  stopifnot(identical(tr$p, nn$p), identical(tr$lambda1, nn$lambda1),
            identical(tr$lambda2, nn$lambda2))
  probs_check <- nn$probs
  stopifnot(!any(abs(probs_check - 0.5) < 1e-12))
  entry <- list(dataset = name, source = path, columns = I(columns), n = nrow(X), d = ncol(X),
                call = sprintf("NNclean(X, k = %d)", K_NN),
                defaults = list(edge_correct = FALSE, wrap = 0.1, convergence = 0.001),
                k = K_NN, alpha_d = tr$alpha_d,
                z = ivec(nn$z), z_meaning = "1 = feature (lambda1, the dense component), 0 = noise",
                n_noise = sum(nn$z == 0), n_feature = sum(nn$z == 1),
                lambda1 = nn$lambda1, lambda2 = nn$lambda2, p = nn$p,
                probs_sum = sum(nn$probs), probs_min = min(nn$probs), probs_max = max(nn$probs),
                iterations = length(tr$trace), start = tr$start, trace = tr$trace,
                kthNND_summary = list(min = min(nn$kthNND), max = max(nn$kthNND),
                                      mean = mean(nn$kthNND), median = median(nn$kthNND)),
                kthNND = vec(nn$kthNND))
  if (!is.null(truth)) {
    tab <- table(factor(nn$z == 0, c(FALSE, TRUE)), factor(truth, c(FALSE, TRUE)))
    entry$versus_true_noise <- list(
      nnclean_noise_true_noise = tab["TRUE", "TRUE"], nnclean_noise_true_data = tab["TRUE", "FALSE"],
      nnclean_feature_true_noise = tab["FALSE", "TRUE"], nnclean_feature_true_data = tab["FALSE", "FALSE"])
  }
  list(entry = entry, noise = nn$z == 0)
}

nn_chev <- nnclean_entry("chevron", CHEVRON_CSV, c("x", "y"), X_chev, truth = true_noise)
nn_faith <- nnclean_entry("faithful", FAITHFUL_CSV, c("eruptions", "waiting"), X_faith)
write_fixture("noise_nnclean", c(header(), list(datasets = list(nn_chev$entry, nn_faith$entry))))

# ------------------------------------------------------------------ 3. one M-step / E-step, me()
steps_fixture <- function() {
  X <- X_chev
  n <- nrow(X)
  d <- ncol(X)
  G <- STEP_G
  Vinv <- 1 / hypvol(X)
  cl <- as.integer(hclass(hc(X[!true_noise, ], modelName = "VVV"), G))
  stopifnot(length(unique(cl)) == G)
  labels <- integer(n)
  labels[!true_noise] <- cl - 1L
  labels[true_noise] <- G
  z <- matrix(0, n, G + 1)
  z[!true_noise, 1:G] <- unmap(cl)
  z[true_noise, G + 1] <- 1
  pro_noise <- sum(z[, G + 1]) / n
  sig <- function(s) lapply(seq_len(G), function(k) rows(matrix(s[, , k], d, d)))
  mus <- function(m) lapply(seq_len(G), function(k) vec(m[, k]))
  models <- list()
  for (model in STEP_MODELS) {
    cat("chevron steps", model, "\n")
    ms <- mstep(model, data = X, z = z[, 1:G], control = MSTEP_CONTROL)
    stopifnot(attr(ms, "returnCode") >= 0)  # 2 = iterative M-step (VEV, VVE) converged
    p <- ms$parameters
    p$pro <- c(p$pro, pro_noise)
    p$Vinv <- Vinv
    es <- estep(model, data = X, parameters = p)
    stopifnot(attr(es, "returnCode") == 0)
    one <- me(model, data = X, z = z, Vinv = Vinv, control = ME_ONE_STEP)
    diff_one <- max(abs(c(one$parameters$pro - p$pro,
                          one$parameters$mean - p$mean,
                          one$parameters$variance$sigma - p$variance$sigma)))
    fit <- me(model, data = X, z = z, Vinv = Vinv)
    info <- attr(fit, "info")  # (iterations, error); VVE names them niterout, errout
    models[[model]] <- list(
      mstep = list(return_code = as.integer(attr(ms, "returnCode")), pro = vec(p$pro), mean = mus(p$mean), sigma = sig(p$variance$sigma)),
      estep_loglik = es$loglik,
      estep_z_colsums = vec(colSums(es$z)),
      me_one_iteration_max_abs_diff_from_mstep = diff_one,
      me_one_iteration_loglik = one$loglik,
      me = list(loglik = fit$loglik, iterations = as.integer(info[[1]]),
                error = info[[2]], return_code = as.integer(attr(fit, "returnCode")),
                pro = vec(fit$parameters$pro), mean = mus(fit$parameters$mean),
                sigma = sig(fit$parameters$variance$sigma),
                z_colsums = vec(colSums(fit$z)),
                n_map_noise = sum(map(fit$z) == G + 1),
                nparams = nMclustParams(model, d = d, G = G, noise = TRUE),
                bic = bic(model, loglik = fit$loglik, n = n, d = d, G = G, noise = TRUE)))
  }
  c(header(), list(
    dataset = "chevron", source = CHEVRON_CSV, columns = I(c("x", "y")), n = n, d = d, G = G,
    Vinv = Vinv, Vinv_source = "1 / hypvol(X) (equals hypvol(X, reciprocal = TRUE))",
    partition = "hclass(hc(X[!noise, ], modelName = \"VVV\"), 2)  (hc's default use = \"VARS\")",
    labels = ivec(labels),
    labels_meaning = "0..G-1 = hc group of a true-data row, G = true noise row; z = unmap(labels), noise last",
    mstep_call = paste("mstep(model, data = X, z = z[, 1:G], control = mstep_control);",
                       "pro gets the noise share sum(z[, G+1])/n appended"),
    estep_call = "estep(model, data = X, parameters = c(mstep parameters, pro = all G+1, Vinv = Vinv))",
    me_call = "me(model, data = X, z = z, Vinv = Vinv)  (control = emControl())",
    bic_call = "bic(model, loglik, n, d, G, noise = TRUE) = 2 loglik - nMclustParams(noise = TRUE) log n",
    mstep_control = list(tol = vec(MSTEP_CONTROL$tol), itmax = ivec(MSTEP_CONTROL$itmax)),
    me_one_step_control = list(tol = vec(ME_ONE_STEP$tol), itmax = ivec(ME_ONE_STEP$itmax)),
    me_control = list(tol = vec(DEFAULT_CONTROL$tol), itmax = ivec(DEFAULT_CONTROL$itmax)),
    models = models))
}
write_fixture("noise_steps", steps_fixture())

# ------------------------------------------------------------------ 4. nMclustParams, G = 0
nparams_fixture <- function() {
  table <- list()
  for (model in c("EII", "EEE", "VVV")) {
    table[[model]] <- list(
      noise = ivec(sapply(0:3, function(g) nMclustParams(model, d = 2, G = g, noise = TRUE))),
      no_noise = ivec(sapply(0:3, function(g)
        if (g == 0) NA_integer_ else as.integer(nMclustParams(model, d = 2, G = g, noise = FALSE)))))
  }
  X <- X_chev
  n <- nrow(X)
  Vinv <- hypvol(X, reciprocal = TRUE)
  loglik0 <- n * log(Vinv)
  bic0 <- 2 * loglik0 - log(n)
  default_G <- mclustBIC(X, modelNames = "EII", initialization = list(noise = nn_chev$noise),
                         verbose = FALSE)
  stopifnot(identical(rownames(default_G), as.character(0:9)),
            all.equal(default_G["0", "EII"], bic0, tolerance = 1e-14) == TRUE)
  only0 <- tryCatch({
    mclustBIC(X, G = 0, modelNames = "EII", initialization = list(noise = nn_chev$noise),
              verbose = FALSE)
    "no error"
  }, error = function(e) conditionMessage(e))
  c(header(), list(
    d = 2L, G = ivec(0:3),
    nparams = table,
    nparams_rule = paste("G = 0 (noise only): 1; else nVarParams + G*d + (G-1) [unless equalPro]",
                         "+ 2 if noise; no_noise at G = 0 is an error (\"undefined model\")"),
    chevron_G0 = list(n = n, Vinv = Vinv, loglik = loglik0, bic = bic0,
                      formula = "loglik = n * log(Vinv); BIC = 2 * loglik - log(n)",
                      default_G_rows = I(rownames(default_G)),
                      bic_from_mclustBIC_default_G = default_G["0", "EII"],
                      mclustBIC_G_0_alone = only0)))
}
write_fixture("noise_nparams", nparams_fixture())

# ------------------------------------------------------------------ 5./6. mclustBIC with noise
bic_fixture <- function(name, path, columns, X, noise, truth = NULL) {
  cat(name, "mclustBIC\n")
  init <- list(noise = noise)
  BIC <- mclustBIC(X, G = 1:5, initialization = init, verbose = FALSE)
  fit <- Mclust(X, x = BIC, verbose = FALSE)
  G <- fit$G
  d <- ncol(X)
  n <- nrow(X)
  table <- lapply(setNames(colnames(BIC), colnames(BIC)), function(m) vec(BIC[, m]))
  codes <- attr(BIC, "returnCodes")
  ret <- lapply(setNames(colnames(codes), colnames(codes)), function(m) ivec(codes[, m]))
  best <- pickBIC(BIC, k = 3)
  fit_noise <- fit$classification == 0
  stopifnot(identical(fit_noise, map(fit$z) == G + 1))
  summary <- list(
    call = "Mclust(X, x = BIC)  (Mclust refuses initialization together with x; it reuses BIC's)",
    model = fit$modelName, G = G, bic = fit$bic, loglik = fit$loglik, df = as.integer(fit$df),
    bic_recomputed = bic(fit$modelName, fit$loglik, n, d, G, noise = TRUE),
    hypvol = fit$hypvol, Vinv = attr(BIC, "Vinv"),
    pro = vec(fit$parameters$pro),
    mean = lapply(seq_len(G), function(k) vec(fit$parameters$mean[, k])),
    sigma = lapply(seq_len(G), function(k) rows(matrix(fit$parameters$variance$sigma[, , k], d, d))),
    n_noise = sum(fit_noise),
    noise_classification = ivec(fit_noise),
    noise_classification_meaning = "1 = map(z) == G + 1 (Mclust's classification 0), 0 = a Gaussian component")
  if (!is.null(truth)) {
    tp <- sum(fit_noise & truth)
    fp <- sum(fit_noise & !truth)
    fn <- sum(!fit_noise & truth)
    precision <- tp / (tp + fp)
    recall <- tp / (tp + fn)
    summary$versus_true_noise <- list(true_positive = tp, false_positive = fp, false_negative = fn,
                                      true_negative = sum(!fit_noise & !truth),
                                      precision = precision, recall = recall,
                                      f1 = 2 * precision * recall / (precision + recall))
  }
  c(header(), list(
    dataset = name, source = path, columns = I(columns), n = n, d = d,
    noise_init = sprintf("NNclean(X, k = %d)$z == 0 (see noise_nnclean.json)", K_NN),
    n_noise_init = sum(noise),
    call = "mclustBIC(X, G = 1:5, initialization = list(noise = noise_init))",
    initial_partition = paste("hclass(hc(X[!noise_init, ], modelName = \"VVV\", use = \"SVD\"), G)",
                              "(mclust.options hcModelName/hcUse); no subset since n <= 2000"),
    Vinv = attr(BIC, "Vinv"),
    G = ivec(as.integer(rownames(BIC))),
    models = I(colnames(BIC)),
    bic = table, return_codes = ret,
    top3 = list(names = I(names(best)), values = vec(best)),
    best = summary))
}
write_fixture("noise_bic_chevron", bic_fixture("chevron", CHEVRON_CSV, c("x", "y"), X_chev,
                                               nn_chev$noise, truth = true_noise))
write_fixture("noise_bic_faithful", bic_fixture("faithful", FAITHFUL_CSV, c("eruptions", "waiting"),
                                                X_faith, nn_faith$noise))
