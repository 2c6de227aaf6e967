"""Course tooling (not mathematics): exercise checkers, notebook execution, the student edition,
the static site, slides, nbgrader assignments and figure regeneration.

- ``exercises``: the checker behind ``ex.check(key, fn)`` in every notebook;
- ``nbtools``: execute notebooks in place, add the Colab cell, lint stored outputs;
- ``student``, ``assignments``: the student edition and the nbgrader course directory;
- ``site``, ``slides``: the offline HTML site and reveal.js decks;
- ``figures``: regenerate every figure under figures/.
"""
