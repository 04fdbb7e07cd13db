"""Readers that turn one kind of file into a :class:`~engine.data.dataset.Dataset`.

Each reader reports bad records through an :class:`~engine.data.errors.ImportContext` and writes
records into a :class:`~engine.data.storage.SectionBuilder`, so every format honours the error policy,
progress, cancellation and the memory budget the same way. :func:`engine.data.load` picks the reader.
"""
