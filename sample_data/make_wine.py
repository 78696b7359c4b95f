"""Write sample_data/wine.csv: the UCI wine data (178 wines x 13 chemical measurements, cultivar
dropped), from the copy bundled with scikit-learn (no download; the data are CC BY 4.0, Forina et
al.). Used by `make bench` (the select grid against mclust). Run from the repository root:
    .venv/bin/python sample_data/make_wine.py
"""

from sklearn.datasets import load_wine

frame = load_wine(as_frame=True).data
frame.columns = [name.replace("/", "_") for name in frame.columns]
frame.to_csv("sample_data/wine.csv", index=False)
