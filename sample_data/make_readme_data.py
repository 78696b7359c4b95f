"""Make the small files the README's examples read, from walkthrough.csv and new_rows.csv.

Run from anywhere:  python sample_data/make_readme_data.py
Deterministic (seed 20261125, cells copied verbatim as text); the files in sample_data/ were
made by it. Re-run it after make_walkthrough.py.

  weighted.csv       the 300 walkthrough rows plus an integer weight column w (1, 2 or 3)
  first_half.csv     the first 150 walkthrough rows (second_half.csv: the other 150)
  holes.csv          new rows with an id, empty or NA cells, and an amount kept verbatim
  numbered.csv       the walkthrough rows with a leading row number column id (1 ... 300)
  decimal_comma.csv  the walkthrough rows as a spreadsheet in a comma-decimal locale
                     writes them: ';' between fields, ',' as the decimal mark
"""

import os

import numpy as np
import pandas as pd

SEED = 20261125
HERE = os.path.dirname(os.path.abspath(__file__))


def read(name):
    """Every cell as the text in the file, so that numbers are copied digit for digit."""
    return pd.read_csv(os.path.join(HERE, name), dtype=str, keep_default_na=False)


def write(frame, name, sep=","):
    frame.to_csv(os.path.join(HERE, name), sep=sep, index=False, lineterminator="\n")


def main():
    rng = np.random.default_rng(SEED)
    walk = read("walkthrough.csv")
    half = len(walk) // 2

    weighted = walk.assign(w=rng.integers(1, 4, size=len(walk)).astype(str))
    write(weighted, "weighted.csv")

    write(walk.iloc[:half], "first_half.csv")
    write(walk.iloc[half:], "second_half.csv")

    holes = read("new_rows.csv").iloc[:4].copy()
    holes.loc[0, "y"] = ""        # new-1: x observed, y empty
    holes.loc[1, "x"] = ""        # new-2: y observed, x empty
    holes.loc[3, ["x", "y"]] = ["NA", ""]  # new-4: nothing observed
    holes["amount"] = ["153.90", "12.00", "7.50", "0.10"]
    write(holes, "holes.csv")

    numbered = walk.copy()
    numbered.insert(0, "id", [str(i) for i in range(1, len(walk) + 1)])
    write(numbered, "numbered.csv")

    comma = walk.apply(lambda column: column.str.replace(".", ",", regex=False))
    write(comma, "decimal_comma.csv", sep=";")


if __name__ == "__main__":
    main()
