# A small JSON writer for the fixture scripts (make_mclust_fixtures.R, make_prior_fixtures.R):
# numbers as the shortest of %.15g/%.16g/%.17g that reads back exactly, objects one key a line.

num <- function(x) {
  if (is.na(x)) return("null")
  if (is.integer(x)) return(as.character(x))
  if (!is.finite(x)) stop("non-finite number")
  for (digits in 15:17) {
    s <- sprintf("%.*g", digits, x)
    if (as.numeric(s) == x) return(s)
  }
  s
}

json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      if (length(x) == 0) return("{}")
      items <- vapply(names(x), function(n)
        paste0(inner, "\"", n, "\": ", json(x[[n]], inner)), "")
      return(paste0("{\n", paste(items, collapse = ",\n"), "\n", indent, "}"))
    }
    if (any(vapply(x, function(e) is.list(e) && !is.null(names(e)), TRUE))) {  # objects: one a line
      items <- vapply(x, function(e) paste0(inner, json(e, inner)), "")
      return(paste0("[\n", paste(items, collapse = ",\n"), "\n", indent, "]"))
    }
    return(paste0("[", paste(vapply(x, json, "", indent = inner), collapse = ", "), "]"))
  }
  if (length(x) == 0) return("[]")
  scalar <- length(x) == 1 && !inherits(x, "AsIs")
  x <- unclass(x)
  if (is.character(x)) {
    items <- paste0("\"", gsub("\"", "\\\\\"", x), "\"")
  } else if (is.logical(x)) {
    items <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else {
    items <- vapply(as.list(x), num, "")
  }
  if (scalar) items else paste0("[", paste(items, collapse = ", "), "]")
}
