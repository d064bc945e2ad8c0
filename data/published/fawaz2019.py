"""Writes fawaz2019.csv: the published MLP, FCN and ResNet test accuracies of Fawaz et al. 2019
(hfawaz/dl-4-tsc, commit e0233efd886df8c6ca18e6f1b545d15aaf423627) for the datasets in ../aeon/,
each the mean over the runs the repository's results files hold (5 per UCR dataset, 10 per MTS one).

Usage: python fawaz2019.py DL4TSC_CHECKOUT > fawaz2019.csv   (pandas)
"""
import sys

import pandas as pd

root = sys.argv[1]
names = ["ACSF1", "ArrowHead", "GunPoint", "ItalyPowerDemand", "JapaneseVowels", "OSULeaf", "PickupGestureWiimoteZ"]
runs = pd.concat([pd.read_csv(f"{root}/results/results-ucr-128.csv"), pd.read_csv(f"{root}/results/results-mts.csv")])
runs = runs[runs.classifier_name.isin(["mlp", "fcn", "resnet"]) & runs.dataset_name.isin(names)]
table = runs.pivot_table(index="dataset_name", columns="classifier_name", values="accuracy", aggfunc="mean")
table = table[["mlp", "fcn", "resnet"]].rename(columns={"mlp": "MLP", "fcn": "FCN", "resnet": "ResNet"})
table.index.name = "dataset"
sys.stdout.write(table.round(4).to_csv(lineterminator="\n"))
