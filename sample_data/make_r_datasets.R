# Export two classic data sets from R's bundled `datasets` package (public domain):
#   faithful: Old Faithful geyser, 272 eruptions x (eruptions, waiting)
#   iris:     Fisher/Anderson's iris measurements, 150 x 4 (species dropped)
# Run from the repository root:  Rscript sample_data/make_r_datasets.R
write.csv(faithful, "sample_data/faithful.csv", row.names = FALSE, quote = FALSE)
write.csv(iris[, 1:4], "sample_data/iris.csv", row.names = FALSE, quote = FALSE)
