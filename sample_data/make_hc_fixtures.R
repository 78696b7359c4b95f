# Reference numbers from R's mclust for gmmcli.core.hc (model-based hierarchical clustering).
# tests/core/test_hc.py reads them; the tests themselves need no R.
#
# Run from the repository root:  Rscript sample_data/make_hc_fixtures.R
# Needs R's mclust (Debian: apt-get install r-cran-mclust; written against mclust 6.0.0).
# Reads sample_data/faithful.csv and sample_data/iris.csv (numeric columns) and writes
#   tests/fixtures/mclust/hc_faithful.json     faithful (eruptions, waiting), 272 rows
#   tests/fixtures/mclust/hc_iris.json         iris's four measurements, 150 rows
#   tests/fixtures/mclust/hc_faithful60.json   the first 60 rows of faithful
#   tests/fixtures/mclust/hc_iris60.json       the first 60 rows of iris
#   tests/fixtures/mclust/hc_qclass.json       mclust:::qclass(faithful$waiting, k), k = 1..9
#
# Each data set's file holds, all numbers as mclust returns them (merge pairs and class
# labels 1-based, as in R):
#   svd        the rows hc(X, use = "SVD") passes to hcVVV: scale(X) %*% V %*% diag(1/sqrt(d))
#              (all rows: n x min(n, d))
#   alpha      hcVVV's alpha = traceW(Z / sqrt(n p)) for that Z (its default alpha = 1)
#   vvv        hc(X, modelName = "VVV", use = "SVD"): merges, (n - 1) pairs [i, j], i < j,
#              hclass(tree, 1:9): partitions[k] for k = 1..9, and costs: the change in the
#              criterion at each merge, which hcVVV computes but does not return (read here
#              by calling its Fortran routine exactly as hcVVV does; the merges it returns
#              are checked to equal hc()'s)
#   eii        hc(X, modelName = "EII", use = "VARS") (the raw data; Ward): the same, costs
#              from hcEII's Fortran routine
#   vvv_dup    hc(X, modelName = "VVV", use = "SVD", partition = dupPartition(X)): the
#              initial partition (duplicate rows pre-merged), merges, costs, hclass(tree, 1:9).
#              NB hc's default partition = dupPartition(data) is a lazy default that hc never
#              forwards to hcVVV, so hc(X) itself starts from 1:n (no pre-merging); mclustBIC
#              calls hc(X) like that.
#
# Numbers are written by hand (jsonlite prints 15 significant digits, which does not
# round-trip): each as the shortest of %.15g / %.16g / %.17g that reads back identically.

suppressPackageStartupMessages(library(mclust))

OUT_DIR <- file.path("tests", "fixtures", "mclust")
KS <- 1:9

num <- function(x) {
  if (is.integer(x)) return(as.character(x))
  if (!is.finite(x)) stop("non-finite number")
  for (digits in 15:17) {
    s <- sprintf("%.*g", digits, x)
    if (as.numeric(s) == x) return(s)
  }
  s
}

vec <- function(x) paste0("[", paste(vapply(as.list(x), num, ""), collapse = ", "), "]")

rows <- function(m, indent) {  # a matrix as a list of rows, one a line
  lines <- vapply(seq_len(nrow(m)), function(i) paste0(indent, "  ", vec(m[i, ])), "")
  paste0("[\n", paste(lines, collapse = ",\n"), "\n", indent, "]")
}

int_rows <- function(m) {  # integer pairs, many to a line
  items <- vapply(seq_len(nrow(m)), function(i) vec(as.integer(m[i, ])), "")
  chunks <- split(items, ceiling(seq_along(items) / 10))
  paste0("[\n", paste(vapply(chunks, function(c) paste0("      ", paste(c, collapse = ", ")), ""),
                      collapse = ",\n"), "\n    ]")
}

partitions <- function(tree) {
  cl <- hclass(tree, KS)
  items <- vapply(KS, function(k) paste0("      \"", k, "\": ", vec(as.integer(cl[, as.character(k)]))), "")
  paste0("{\n", paste(items, collapse = ",\n"), "\n    }")
}

# hcVVV's and hcEII's own .Fortran calls (mclust 6.0.0), keeping the costs they drop
merge_costs <- function(Z, tree) {
  n <- nrow(Z); p <- ncol(Z)
  partition <- attr(tree, "initialPartition")
  l <- length(unique(partition)); m <- l - 1
  storage.mode(Z) <- "double"
  if (attr(tree, "modelName") == "VVV") {
    ld <- max(n, (l * (l - 1)) / 2 + 1, 3 * m)
    alpha <- max(mclust:::traceW(Z / sqrt(n * p)), .Machine$double.eps)
    out <- .Fortran("hcvvv", cbind(Z, 0), as.integer(n), as.integer(p), as.integer(partition),
                    as.integer(l), as.integer(m), as.double(alpha), as.double(1), double(p),
                    double(p * p), double(p * p), double(p * p), as.integer(ld), double(ld),
                    PACKAGE = "mclust")[c(1, 14)]
  } else {
    ld <- max(c((l * (l - 1)) / 2, 3 * m))
    out <- .Fortran("hceii", Z, as.integer(n), as.integer(p), as.integer(partition),
                    as.integer(l), as.integer(m), double(p), as.integer(ld), double(ld),
                    PACKAGE = "mclust")[c(1, 9)]
  }
  merges <- unname(t(unclass(tree)[1:2, , drop = FALSE]))
  stopifnot(identical(unname(out[[1]][1:m, 1:2, drop = FALSE]), merges))
  out[[2]][1:m]
}

tree_json <- function(tree, Z, with_partition = FALSE) {
  fields <- c(
    if (with_partition)
      paste0("    \"initial_partition\": ", vec(as.integer(attr(tree, "initialPartition")))),
    paste0("    \"merges\": ", int_rows(t(unclass(tree)[1:2, , drop = FALSE]))),
    paste0("    \"costs\": ", vec(merge_costs(Z, tree))),
    paste0("    \"partitions\": ", partitions(tree)))
  paste0("{\n", paste(fields, collapse = ",\n"), "\n  }")
}

write_hc <- function(name, X, source) {
  X <- data.matrix(X)
  vvv <- hc(X, modelName = "VVV", use = "SVD")
  eii <- hc(X, modelName = "EII", use = "VARS")
  dup <- hc(X, modelName = "VVV", use = "SVD", partition = dupPartition(X))
  Z <- attr(vvv, "data")
  alpha <- mclust:::traceW(Z / sqrt(nrow(Z) * ncol(Z)))
  txt <- paste0("{\n",
    "  \"mclust_version\": \"", packageVersion("mclust"), "\",\n",
    "  \"source\": \"", source, "\",\n",
    "  \"n\": ", nrow(X), ",\n",
    "  \"columns\": [", paste0("\"", colnames(X), "\"", collapse = ", "), "],\n",
    "  \"svd\": ", rows(Z, "  "), ",\n",
    "  \"alpha\": ", num(alpha), ",\n",
    "  \"vvv\": ", tree_json(vvv, Z), ",\n",
    "  \"eii\": ", tree_json(eii, X), ",\n",
    "  \"vvv_dup\": ", tree_json(dup, Z, with_partition = TRUE), "\n",
    "}\n")
  path <- file.path(OUT_DIR, paste0("hc_", name, ".json"))
  writeLines(txt, path, sep = "")
  cat("wrote", path, "\n")
}

dir.create(OUT_DIR, recursive = TRUE, showWarnings = FALSE)
faithful_csv <- read.csv(file.path("sample_data", "faithful.csv"))
iris_csv <- read.csv(file.path("sample_data", "iris.csv"))
faithful_x <- faithful_csv[, vapply(faithful_csv, is.numeric, TRUE)]
iris_x <- iris_csv[, vapply(iris_csv, is.numeric, TRUE)]

write_hc("faithful", faithful_x, "sample_data/faithful.csv")
write_hc("iris", iris_x, "sample_data/iris.csv")
write_hc("faithful60", faithful_x[1:60, ], "sample_data/faithful.csv, rows 1-60")
write_hc("iris60", iris_x[1:60, ], "sample_data/iris.csv, rows 1-60")

waiting <- faithful_x$waiting
items <- vapply(KS, function(k) paste0("    \"", k, "\": ", vec(as.integer(mclust:::qclass(waiting, k)))), "")
txt <- paste0("{\n",
  "  \"mclust_version\": \"", packageVersion("mclust"), "\",\n",
  "  \"source\": \"sample_data/faithful.csv, column waiting\",\n",
  "  \"qclass\": {\n", paste(items, collapse = ",\n"), "\n  }\n",
  "}\n")
path <- file.path(OUT_DIR, "hc_qclass.json")
writeLines(txt, path, sep = "")
cat("wrote", path, "\n")
