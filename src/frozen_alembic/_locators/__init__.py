"""Where a process's bundled migrations are: one module per way of being started.

Every backend answers two questions, :meth:`Backend.active` ("was this process
started this way?") and :meth:`Backend.places` ("where would the folder be?").
None of them ever looks in the current working directory.
"""
