"""The compare-and-assess window: two views of a document side by side, maps, metrics, ratings."""
