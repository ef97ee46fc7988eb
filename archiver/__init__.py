"""transcript-archiver: archive the videos linked from news articles, searchable to the second."""

__version__ = "0.1.0"
