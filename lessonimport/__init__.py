"""Teacher material (Markdown folder or .zip, PDF, .pptx) read into scenes to review.

Pure Python: no Django import anywhere in this package, so the command line, a worker
and tests run the same importers. Every importer returns one `draft.ImportResult` of
`draft.ImportedScene`s; warnings and errors are `synthesis.messages.Message`s, which the
Django side translates when it shows them.
"""
