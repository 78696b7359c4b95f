# Reference numbers from R's mclust for gmmcli's conjugate prior (gmmcli/core/prior.py;
# tests/core/test_prior.py reads them; the tests themselves need no R).
#
# Run from the repository root:  Rscript sample_data/make_prior_fixtures.R
# Needs R's mclust (Debian: apt-get install r-cran-mclust; written against mclust 6.0.0).
# Reads sample_data/faithful.csv and sample_data/iris.csv and writes
#   tests/fixtures/mclust/prior_faithful.json          faithful (eruptions, waiting), G = 3
#   tests/fixtures/mclust/prior_iris.json              iris's four measurements, G = 3
#   tests/fixtures/mclust/prior_faithful_waiting.json  faithful's waiting alone, models E and V, G = 3
#
# For every data set:
#   labels         the hard partition, 0-based: hclass(hc(X, modelName = "VVV", use = "SVD"), G)
#                  (mclust:::qclass(x, G) for one column, as mclustBIC)
#   default_prior  for every model, defaultPrior(X, G = G, modelName = model) as mclust computes it
#                  (shrinkage, mean, dof, scale: a number or a d x d matrix, written row by row)
#   default_prior_few_rows  (several columns only) the same for VVV and VII from the first d rows
#                  alone, where n <= d and mclust's matrix scale keeps only the variances
#   mstep          for every model, mstep(model, X, z = unmap(labels), prior = priorControl(),
#                  control = MSTEP_CONTROL): pro, mean (G x d), sigma (G x d x d), from mclust's
#                  ms*p routines. Models whose mstep warns "... not available with prior" are
#                  written with supported = false, the warning and no parameters.
#   me_step        the same from me(model, X, z = unmap(labels), prior = priorControl(),
#                  control = ME_ONE_STEP): one EM iteration, whose parameters are those of the
#                  M-step of mclust's EM routines (me*p), the ones Mclust and mclustBIC fit with.
#                  For EII, EEI, EVI and EEV they differ from mstep's (see gmmcli/core/models/prior.py).
# Both iterate the iterative M-steps (VEI, VEV) to 1e-14 instead of sqrt(eps), so that their
# fixed points are good to far better than the tests ask.
#
# Numbers are written with sprintf("%.17g"), which reads back exactly.

suppressPackageStartupMessages(library(mclust))

MODELS <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
            "EEV", "VEV", "EVV", "VVV")
ONE_COLUMN_MODELS <- c("E", "V")
G <- 3L
DEFAULT_CONTROL <- emControl()
MSTEP_CONTROL <- emControl(tol = c(DEFAULT_CONTROL$tol[1], 1e-14),
                           itmax = c(DEFAULT_CONTROL$itmax[1], 100000L))
ME_ONE_STEP <- emControl(tol = c(DEFAULT_CONTROL$tol[1], 1e-14), itmax = c(1L, 100000L))
OUT_DIR <- file.path("tests", "fixtures", "mclust")

# ------------------------------------------------------------------ a small JSON writer
source(file.path("sample_data", "fixture_json.R"))

rows <- function(m) lapply(seq_len(nrow(m)), function(i) I(as.numeric(m[i, ])))

# ------------------------------------------------------------------ mclust's answers
prior_fields <- function(X, model) {
  p <- defaultPrior(X, G = G, modelName = model)
  scale <- if (is.matrix(p$scale)) rows(p$scale) else as.numeric(p$scale)
  list(shrinkage = as.numeric(p$shrinkage), mean = I(as.numeric(p$mean)),
       dof = as.numeric(p$dof), scale = scale)
}

m_step_with_prior <- function(fun, control, X, model, z, d) {
  warnings <- character(0)
  ms <- withCallingHandlers(
    fun(modelName = model, data = X, z = z, prior = priorControl(), control = control, warn = TRUE),
    warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (any(grepl("not available with prior", warnings))) {
    return(list(supported = FALSE, warnings = I(warnings)))
  }
  p <- ms$parameters
  mean <- matrix(as.numeric(p$mean), nrow = d, ncol = G)
  sigma <- if (d == 1) {
    array(rep_len(as.numeric(p$variance$sigmasq), G), c(1, 1, G))
  } else {
    array(as.numeric(p$variance$sigma), c(d, d, G))
  }
  stopifnot(all(is.finite(c(p$pro, mean, sigma))))
  list(supported = TRUE, warnings = I(warnings),
       pro = I(as.numeric(p$pro)),
       mean = lapply(seq_len(G), function(k) I(mean[, k])),
       sigma = lapply(seq_len(G), function(k) rows(matrix(sigma[, , k], d, d))))
}

fixture <- function(name, path, columns, models) {
  raw <- read.csv(path)
  X <- as.matrix(raw[, columns, drop = FALSE])
  storage.mode(X) <- "double"
  d <- ncol(X)
  x <- if (d == 1) X[, 1] else X
  if (d > 1) {
    cl <- as.integer(hclass(hc(X, modelName = "VVV", use = "SVD"), G))
    partition <- "hclass(hc(X, modelName = \"VVV\", use = \"SVD\"), G)"
  } else {
    cl <- as.integer(mclust:::qclass(x, G))
    partition <- "mclust:::qclass(x, G)"
  }
  stopifnot(length(unique(cl)) == G)
  z <- unmap(cl)
  priors <- list()
  steps <- list()
  me_steps <- list()
  for (model in models) {
    cat(sprintf("%s %s\n", name, model))
    priors[[model]] <- prior_fields(x, model)
    steps[[model]] <- m_step_with_prior(mstep, MSTEP_CONTROL, x, model, z, d)
    me_steps[[model]] <- m_step_with_prior(me, ME_ONE_STEP, x, model, z, d)
  }
  few <- if (d > 1) {
    lapply(c(VVV = "VVV", VII = "VII"), function(model) prior_fields(X[seq_len(d), , drop = FALSE], model))
  } else NULL
  list(
    dataset = name, source = path, columns = I(columns), n = nrow(X), d = d, G = G,
    column_sums = I(as.numeric(colSums(X))),
    generator = "sample_data/make_prior_fixtures.R",
    mclust_version = as.character(packageVersion("mclust")),
    r_version = paste(R.version$major, R.version$minor, sep = "."),
    partition = partition,
    prior_control = "priorControl()",
    mstep_control = list(tol = I(MSTEP_CONTROL$tol), itmax = I(as.integer(MSTEP_CONTROL$itmax))),
    me_control = list(tol = I(ME_ONE_STEP$tol), itmax = I(as.integer(ME_ONE_STEP$itmax))),
    labels = I(cl - 1L),
    default_prior = priors,
    default_prior_few_rows = few,
    mstep = steps,
    me_step = me_steps)
}

write_fixture <- function(fx) {
  dir.create(OUT_DIR, recursive = TRUE, showWarnings = FALSE)
  path <- file.path(OUT_DIR, paste0("prior_", fx$dataset, ".json"))
  writeLines(json(fx), path)
  cat("wrote", path, "\n")
}

write_fixture(fixture("faithful", "sample_data/faithful.csv", c("eruptions", "waiting"), MODELS))
write_fixture(fixture("iris", "sample_data/iris.csv",
                      c("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"), MODELS))
write_fixture(fixture("faithful_waiting", "sample_data/faithful.csv", "waiting", ONE_COLUMN_MODELS))
