"""Make the walkthrough data set: 300 rows x 2 columns from 3 Gaussian clusters.

Run from the repository root:  python sample_data/make_walkthrough.py
The output is deterministic (seed 20261124); the files in sample_data/ were made by it.

True parameters (original units):
  component  rows  weight  mean          covariance
  A           90   0.30    (0.0, 0.0)    [[1.0, 0.3], [0.3, 0.5]]
  B          150   0.50    (4.0, 3.0)    [[0.6, -0.2], [-0.2, 0.8]]
  C           60   0.20    (-1.0, 5.0)   [[0.4, 0.0], [0.0, 0.4]]
"""

import gzip
import os

import numpy as np

SEED = 20261124
COUNTS = (90, 150, 60)
MEANS = np.array([[0.0, 0.0], [4.0, 3.0], [-1.0, 5.0]])
COVARIANCES = np.array([
    [[1.0, 0.3], [0.3, 0.5]],
    [[0.6, -0.2], [-0.2, 0.8]],
    [[0.4, 0.0], [0.0, 0.4]],
])
HERE = os.path.dirname(os.path.abspath(__file__))


def make(rng):
    parts = [rng.multivariate_normal(m, c, size=n) for m, c, n in zip(MEANS, COVARIANCES, COUNTS)]
    labels = np.repeat(np.arange(3), COUNTS)
    X = np.concatenate(parts)
    order = rng.permutation(len(X))
    return X[order], labels[order]


def write(name, text, compress=False):
    path = os.path.join(HERE, name)
    data = text.encode()
    if compress:
        with open(path, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def main():
    rng = np.random.default_rng(SEED)
    X, _ = make(rng)
    rows = "".join(f"{x:.6f},{y:.6f}\n" for x, y in X)
    write("walkthrough.csv", "x,y\n" + rows)
    write("walkthrough_noheader.csv", rows)
    write("walkthrough.csv.gz", "x,y\n" + rows, compress=True)
    new = [("new-1", 0.2, 0.1), ("new-2", 4.1, 2.8), ("new-3", -0.9, 5.2), ("new-4", 2.0, 2.5), ("new-5", 30.0, -20.0)]
    write("new_rows.csv", "id,x,y\n" + "".join(f"{i},{x},{y}\n" for i, x, y in new))


if __name__ == "__main__":
    main()
