"""The full-text index: the only package that imports whoosh.

schema.py says what a document is, writer.py turns archive records into documents,
search.py answers queries with the time of the first matched word.
"""
