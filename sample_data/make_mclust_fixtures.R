# Reference numbers from R's mclust for gmmcli's covariance models
# (tests/core/test_mclust_reference.py reads them; the tests themselves need no R).
#
# Run from the repository root:  Rscript sample_data/make_mclust_fixtures.R
# Needs R's mclust (Debian: apt-get install r-cran-mclust; written against mclust 6.0.0).
# Reads sample_data/faithful.csv and sample_data/iris.csv (see make_r_datasets.R) and writes
#   tests/fixtures/mclust/faithful.json          faithful (eruptions, waiting), 14 models, G = 2, 3
#   tests/fixtures/mclust/iris.json              iris's four measurements, 14 models, G = 3
#   tests/fixtures/mclust/faithful_waiting.json  faithful's waiting alone, models E and V, G = 2, 3
#
# For every (data set, model, G):
#   labels    a hard partition, written 0-based. As mclustBIC's default initialisation:
#             hclass(hc(X, modelName = "VVV", use = "SVD"), G) for several columns
#             (hc's other arguments at their defaults: partition = dupPartition(X), minclus = 1),
#             and mclust:::qclass(x, G) (quantile classes) for one column, where mclustBIC uses
#             no hierarchical clustering.
#   mstep     mstep(modelName, X, z = unmap(labels), control = MSTEP_CONTROL): pro, mean (K x D),
#             sigma (K x D x D); MSTEP_CONTROL iterates the iterative M-steps to 1e-14
#   me        me(modelName, X, z = unmap(labels), control = TIGHT_CONTROL): EM run to a relative
#             log-likelihood change of 1e-12 (inner M-step iterations to 1e-14), so that its
#             result is a fixed point of EM to far better than 1e-8
#   me_default  the same with emControl()'s defaults (tol = c(1e-5, sqrt(eps))): mclust stops
#             there, reporting the log-likelihood of the parameters it returns, which are
#             *not* a fixed point to 1e-8
#   n_var_params = nVarParams(model, d, G), n_mclust_params = nMclustParams(model, d, G)
# A fit that fails (NA log-likelihood, or an error) is recorded with failed = true, its
# return code, message and no parameters.
#
# Numbers are written by hand (jsonlite prints 15 significant digits, which does not
# round-trip): each as the shortest of %.15g / %.16g / %.17g that reads back identically.

suppressPackageStartupMessages(library(mclust))

MODELS <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
            "EEV", "VEV", "EVV", "VVV")
ONE_COLUMN_MODELS <- c("E", "V")
HC_MODEL <- "VVV"
HC_USE <- "SVD"
DEFAULT_CONTROL <- emControl()
# The M-steps of VEI, VEE, EVE, VVE and VEV iterate (tol[2], itmax[2]); at the default
# tol[2] = sqrt(eps) their results are only good to ~1e-5, so the reference M-steps and fits
# iterate them to 1e-14. tol[1] is EM's relative log-likelihood change.
MSTEP_CONTROL <- emControl(tol = c(DEFAULT_CONTROL$tol[1], 1e-14), itmax = c(DEFAULT_CONTROL$itmax[1], 100000L))
TIGHT_CONTROL <- emControl(tol = c(1e-12, 1e-14), itmax = c(100000L, 100000L))
OUT_DIR <- file.path("tests", "fixtures", "mclust")

# ------------------------------------------------------------------ a small JSON writer
source(file.path("sample_data", "fixture_json.R"))

# ------------------------------------------------------------------ mclust's parameters
means_kd <- function(mean, d, G) {  # mclust: d x G (or a length-G vector for one column)
  m <- matrix(as.numeric(mean), nrow = d, ncol = G)
  lapply(seq_len(G), function(k) I(m[, k]))
}

sigma_kdd <- function(variance, d, G) {  # mclust: d x d x G; one column: sigmasq (1 or G)
  if (d == 1) {
    s <- array(rep_len(as.numeric(variance$sigmasq), G), c(1, 1, G))
  } else {
    s <- array(as.numeric(variance$sigma), c(d, d, G))
  }
  lapply(seq_len(G), function(k) lapply(seq_len(d), function(i) I(s[i, , k])))
}

parameters <- function(p, d, G) {
  list(pro = I(as.numeric(p$pro)), mean = means_kd(p$mean, d, G),
       sigma = sigma_kdd(p$variance, d, G))
}

finite_parameters <- function(p) {
  vals <- c(p$pro, p$mean, unlist(p$variance[c("sigma", "sigmasq")]))
  length(vals) > 0 && all(is.finite(vals))
}

run_me <- function(model, X, z, d, G, control) {
  warnings <- character(0)
  fit <- withCallingHandlers(
    tryCatch(me(modelName = model, data = X, z = z, control = control),
             error = function(e) e),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (inherits(fit, "error")) {
    return(list(failed = TRUE, return_code = NA, message = conditionMessage(fit),
                warnings = I(warnings)))
  }
  info <- attr(fit, "info")
  code <- attr(fit, "returnCode")
  failed <- is.null(fit$loglik) || is.na(fit$loglik) || !finite_parameters(fit$parameters)
  out <- list(failed = failed, return_code = if (is.null(code)) NA else as.integer(code),
              warnings = I(warnings),
              iterations = if (is.null(info)) NA else as.integer(info[1]),
              error = if (is.null(info)) NA else as.numeric(info[2]))
  if (!failed) out <- c(out, list(loglik = fit$loglik), parameters(fit$parameters, d, G))
  out
}

run_mstep <- function(model, X, z, d, G) {
  ms <- tryCatch(mstep(modelName = model, data = X, z = z, control = MSTEP_CONTROL),
                 error = function(e) e)
  if (inherits(ms, "error")) return(list(failed = TRUE, message = conditionMessage(ms)))
  if (!finite_parameters(ms$parameters)) return(list(failed = TRUE, message = "non-finite parameters"))
  c(list(failed = FALSE), parameters(ms$parameters, d, G))
}

# ------------------------------------------------------------------ one data set
fixture <- function(name, path, columns, models, Gs) {
  raw <- read.csv(path)
  X <- as.matrix(raw[, columns, drop = FALSE])
  storage.mode(X) <- "double"
  n <- nrow(X)
  d <- ncol(X)
  x <- if (d == 1) X[, 1] else X
  if (d > 1) {
    hcp <- hc(X, modelName = HC_MODEL, use = HC_USE)
    labels_for <- function(G) as.integer(hclass(hcp, G))
    partition <- list(call = sprintf("hclass(hc(X, modelName = \"%s\", use = \"%s\"), G)", HC_MODEL, HC_USE),
                      hc = list(modelName = HC_MODEL, use = HC_USE, partition = "dupPartition(X)",
                                minclus = 1L))
  } else {
    labels_for <- function(G) as.integer(mclust:::qclass(x, G))
    partition <- list(call = "mclust:::qclass(x, G)",
                      note = "mclustBIC's initial partition for one column (it uses no hc there)")
  }
  labels <- list()
  fits <- list()
  for (G in Gs) {
    cl <- labels_for(G)
    stopifnot(length(unique(cl)) == G)
    labels[[as.character(G)]] <- I(cl - 1L)
    z <- unmap(cl)
    for (model in models) {
      cat(sprintf("%s %s G=%d\n", name, model, G))
      fits[[length(fits) + 1]] <- list(
        model = model, G = G,
        n_var_params = as.integer(nVarParams(model, d, G)),
        n_mclust_params = as.integer(nMclustParams(model, d, G)),
        mstep = run_mstep(model, x, z, d, G),
        me = run_me(model, x, z, d, G, TIGHT_CONTROL),
        me_default = run_me(model, x, z, d, G, DEFAULT_CONTROL))
    }
  }
  control <- function(c) list(eps = c$eps, tol = I(c$tol), itmax = I(as.integer(c$itmax)),
                              equalPro = c$equalPro)
  list(
    dataset = name, source = path, columns = I(columns), n = n, d = d,
    column_sums = I(as.numeric(colSums(X))),
    generator = "sample_data/make_mclust_fixtures.R",
    mclust_version = as.character(packageVersion("mclust")),
    r_version = paste(R.version$major, R.version$minor, sep = "."),
    partition = partition,
    em_control = list(me = control(TIGHT_CONTROL), me_default = control(DEFAULT_CONTROL),
                      mstep = control(MSTEP_CONTROL)),
    labels = labels,
    fits = fits)
}

write_fixture <- function(fx) {
  dir.create(OUT_DIR, recursive = TRUE, showWarnings = FALSE)
  path <- file.path(OUT_DIR, paste0(fx$dataset, ".json"))
  writeLines(json(fx), path)
  cat("wrote", path, "\n")
}

write_fixture(fixture("faithful", "sample_data/faithful.csv", c("eruptions", "waiting"), MODELS, c(2L, 3L)))
write_fixture(fixture("iris", "sample_data/iris.csv",
                      c("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"), MODELS, 3L))
write_fixture(fixture("faithful_waiting", "sample_data/faithful.csv", "waiting", ONE_COLUMN_MODELS, c(2L, 3L)))
