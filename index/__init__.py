"""The full-text index: the only package that imports whoosh.

schema.py says what a document is and how text becomes terms, writer.py turns archive
records into documents, search.py answers queries with the time of the first matched word,
phonetic.py matches misheard names by sound (and keeps the table of indexed words), and
engine.py is the Whoosh codec, writer and scorer tuned for many short passages.
"""
