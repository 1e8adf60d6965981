"""After a reduction: the regression corpus, its lit export, and bug reports."""
