"""Loading data: load.load_dataset() for every source (csv, tabular, images, arrays, synthetic), the fitted preprocessing and the Dataset it returns."""
