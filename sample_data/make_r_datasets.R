# Export classic data sets from R for the tests, the README and `make bench`:
#   faithful: Old Faithful geyser, 272 eruptions x (eruptions, waiting)       (R's datasets, public domain)
#   iris:     Fisher/Anderson's iris measurements, 150 x 4 (species dropped)  (R's datasets, public domain)
# and, when mclust is installed, four of mclust's own data sets (mclust is GPL >= 2; numeric
# columns only, class labels dropped), used by benchmarks/mclust.py:
#   diabetes: 145 x 3 (glucose, insulin, sspg)
#   banknote: 200 x 6 (Swiss bank notes: Length, Left, Right, Bottom, Top, Diagonal)
#   thyroid:  215 x 5 (RT3U, T4, T3, TSH, DTSH)
#   wreath:   1000 x 2 (14 clusters on a wreath)
#   wdbc:     569 x 30 (Wisconsin diagnostic breast cancer; ID and Diagnosis dropped)
#   gvhd:     9083 x 4 (GvHD.pos, flow cytometry: CD4, CD8b, CD3, CD8)
# (wine, 178 x 13, is written by make_wine.py from scikit-learn's bundled copy of the UCI data.)
# (chevron, with its noise flag, is written by make_noise_fixtures.R.)
# Run from the repository root:  Rscript sample_data/make_r_datasets.R
write.csv(faithful, "sample_data/faithful.csv", row.names = FALSE, quote = FALSE)
write.csv(iris[, 1:4], "sample_data/iris.csv", row.names = FALSE, quote = FALSE)
if (requireNamespace("mclust", quietly = TRUE)) {
  numeric_columns <- function(d) as.data.frame(d)[, sapply(as.data.frame(d), is.numeric), drop = FALSE]
  exported <- list(diabetes = "diabetes", banknote = "banknote", thyroid = "thyroid", wreath = "wreath",
                   wdbc = "wdbc", gvhd = "GvHD.pos")
  for (name in names(exported)) {
    env <- new.env()
    data(list = sub("[.].*", "", exported[[name]]), package = "mclust", envir = env)  # GvHD.pos is in GvHD
    d <- numeric_columns(get(exported[[name]], envir = env))
    d <- d[, setdiff(colnames(d), "ID"), drop = FALSE]  # wdbc's patient ID is a number, not a measurement
    if (is.null(colnames(d)) || any(colnames(d) == "")) colnames(d) <- c("x", "y")[seq_len(ncol(d))]
    write.csv(d, file.path("sample_data", paste0(name, ".csv")), row.names = FALSE, quote = FALSE)
  }
}
