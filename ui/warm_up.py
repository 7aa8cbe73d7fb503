"""Loading what every page needs before the first student arrives (run by app_server.py at start-up).

Everything goes through the same st.cache_resource loaders the pages call, so a page opened while
the warm-up is still running waits for the one load in progress instead of starting another.
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger("lesson.warm_up")
FIRST_SENTENCE = "The animal didn't cross the street because it was too tired."  # the pages' first probe


def warm_up() -> float:
    """Load the model, the classifier head and the BiLSTMs, analyse the first probe, compile the
    max-flow code and run the lab's default sentence; seconds taken."""
    # Outside a session the cache decorators warn that no script is running; that is expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    start = time.perf_counter()
    from ui import models

    try:
        loaded = models._load_cached_model(models.configured_model_setting())
    except Exception:
        log.exception("warm-up: the model could not be loaded; pages will say why")
        return time.perf_counter() - start
    try:
        import numpy as np

        from lessonkit.analysis import analyse_sentence
        from lessonkit.attention_flow import attention_flow
        from lessonkit.transformer_classifier import head_mismatch

        key = (loaded.facts.source, FIRST_SENTENCE, None)  # the key ui.models.analyse uses
        models._sentence_cache().get_or_compute(key, lambda: analyse_sentence(loaded, FIRST_SENTENCE))
        attention_flow(np.full((2, 3, 3), 1 / 3))  # compiles (or loads) the max-flow code once per process
        head = models._shipped_head(models._file_key(models.HEAD_FILE))
        if head_mismatch(head, loaded.facts) is not None:
            head = models._quick_head(loaded, loaded.facts.source)
        for name in models.BILSTM_FILES:
            models.get_bilstm(name, show_error=False)  # on the shipped MiniLM's embeddings, whatever the model
        # The lab's default sentence, both classifiers (the page's defaults: last layer, every head),
        # so a class opening the page at once reads one cached result.
        from ui import jain_wallace_lab as lab

        lab.bilstm_lab(lab.DEFAULT_TEXT, show_error=False)
        lab.run_transformer_lab(loaded, head, lab.DEFAULT_TEXT, loaded.facts.n_layers - 1,
                                tuple(range(loaded.facts.n_heads)))
    except Exception:  # a missing or damaged file: the page that needs it says which
        log.exception("warm-up: something optional could not be loaded")
    seconds = time.perf_counter() - start
    log.warning("warm-up done in %.1f s", seconds)  # warning: shown at Streamlit's default log level
    return seconds
