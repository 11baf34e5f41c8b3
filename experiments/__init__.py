"""Lab scripts: characterisation and model benchmarks, each a function with a CLI front.

Installed as ``neurram_lab.experiments`` (the folder ``experiments/`` of the
checkout). Each experiment logs to one HDF5 run file and draws PNG figures
next to it; ``_registry.EXPERIMENT_MODULES`` lists them. Importing this
package imports none of them (nor h5py, pandas or matplotlib).
"""
