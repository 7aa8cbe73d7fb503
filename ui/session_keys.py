"""Every st.session_state key the app uses, in one place, so two pages never disagree on a name.

Widget keys built per question or per head (e.g. f"{prefix}:{question_id}") are made by the
helpers that own those widgets; the fixed keys are listed here.
"""
from __future__ import annotations

import streamlit as st

# --- progress through the lesson (sidebar)
PAGES_VISITED = "pages_visited"

# --- the sentence the head pages share
HEAD_TEXT = "head_text"
HEAD_PAIR = "head_pair"

# --- quiz and class mode
QUIZ_GRADES = "quiz_grades"  # question id -> record of the current answer
QUIZ_FIRST_ANSWERS = "quiz_first_answers"  # question id -> record of the first answer (what the class sees)
QUIZ_INPUT_ERRORS = "quiz_input_errors"  # widget prefix + question id -> message for a malformed answer
QUIZ_RETRY_IDS = "quiz_retry_ids"
QUIZ_SUBMISSION_ID = "quiz_submission_id"
QUIZ_SENT_IDS = "quiz_sent_ids"  # question ids this tab has seen stored for the class
QUIZ_DISPLAY_NAME = "quiz-display-name"
QUIZ_SEND_MESSAGE = "quiz_send_message"  # (kind, text) of the last send, shown once
QUIZ_CLEARED = "quiz_cleared"  # question id -> time a "try again" cleared its answer (kept server-side too)
QUIZ_LEARNER_ID = "quiz_learner_id"  # anonymous id the browser keeps in a cookie (ui/learner_progress.py)
QUIZ_LEARNER_REPLACES = "quiz_learner_replaces"  # after "start over": the new id replaces the browser's cookie
QUIZ_PROGRESS_NOTICE = "quiz_progress_notice"  # (kind, text) about keeping progress on the server
QUIZ_PROGRESS_RETRY_AT = "quiz_progress_retry_at"  # after a failed save, when to try the database again

# --- presenter mode (ui/presenter.py)
PRESENTER_MODE = "presenter_mode"
PRESENTER_TOGGLE = "presenter_toggle"
PRESENTER_STEP_PREFIX = "presenter_step:"  # + page name: how many steps are shown

# --- numbers the learner saw, for the summary page (ui/summary_numbers.py)
SUMMARY_NUMBERS = "summary_numbers"

# --- instructor view
INSTRUCTOR_AUTHORISED = "instructor_authorised"
INSTRUCTOR_SESSION_TRIES = "instructor_password_tries"  # this session's TryLimiter
INSTRUCTOR_PASSWORD = "instructor-password"
INSTRUCTOR_POLL_CHOICE = "instructor-poll-question"  # the selectbox of questions to open
INSTRUCTOR_OPEN_MESSAGE = "instructor_poll_message"  # ("opened" | "error", text) after pressing open, shown once

# --- live polls on the quiz page (ui/live_poll.py)
LIVE_POLL_ANSWERED = "live_poll_answered"  # poll id -> the keys this session sent (saves a database read)
LIVE_POLL_MESSAGE = "live_poll_message"  # (kind, text) after pressing send, shown once

# --- lesson section 2: the head explorer (pages/head_explorer.py; ui/explorer_state.py). The head
# finder and head accuracy pages clear these to open the explorer on a head of their choosing.
HX_TEXT = "hx_text"
HX_PAIR = "hx_pair"
HX_PROBE = "hx_probe"
HX_LAYER = "hx_layer"
HX_HEADS = "hx_heads"
HX_VIEW = "hx_view"
HX_WORDS = "hx_words"
HX_HIDE = "hx_hide"  # hide [CLS]/[SEP]/punctuation and renormalise
HX_TWIN = "hx_twin"
HX_FOCUS = "hx_focus"  # query position whose lines are kept (-1: all)
HX_THRESHOLD = "hx_threshold"
HX_TOP_K = "hx_topk"
HX_ROW_START = "hx_row_start"
HX_COL_START = "hx_col_start"
HX_MODEL_VIEW = "hx_model_view"

# --- lesson section 1: the formula page (pages/formula.py; ui/formula_state.py)
FORMULA_TEXT = "real_text"
FORMULA_LAYER = "real_layer"
FORMULA_HEAD = "real_head"
FORMULA_QUERY = "real_query"
FORMULA_READY = "formula_ready"  # the URL has been read into the widgets once this session
TOY_TOKENS = "toy_n"
TOY_D_K = "toy_dk"
TOY_SEED = "toy_seed"
TOY_SCALED = "toy_scale"
SCALING_KEYS = "scale_keys"
SCALING_DRAWS = "scale_draws"

# --- "Is attention an explanation?" (pages/not_explanation.py, ui/jain_wallace_lab.py)
NE_TEXT = "ne_text"
NE_EXAMPLE = "ne_example"  # the held-out tweet picked (None once the learner edits the text)
NE_MODEL = "ne_model"  # "bilstm" or "transformer"
NE_LAYER = "ne_layer"  # counted from 1
NE_HEADS = "ne_heads"  # counted from 1
NE_URL_READ = "ne_url_read"  # the URL's view was applied to the widgets once this session
NE_SAMPLE_N = "ne_sample_n"
NE_RECOMPUTE = "ne_recompute"

# --- gradient x attention, rollout and flow, faithfulness pages (ui/explanations.py)
GA_TEXT = "ga_text"
GA_TARGET = "ga_target"
GA_LAYER = "ga_layer"
GA_HEAD = "ga_head"
GA_SIGNED = "ga_signed"
GA_SHOW_CELLS = "ga_show_cells"
RF_TEXT = "rf_text"
RF_LAYER = "rf_layer"
RF_FUSION = "rf_fusion"
RF_DISCARD = "rf_discard"
RF_POSITION = "rf_position"
RF_METHOD = "rf_method"
RF_SHOW_CELLS = "rf_show_cells"
FA_TEXT = "fa_text"
FA_REFERENCE = "fa_reference"

# --- the deep-dive head pages (pages/head_finder.py, pages/head_accuracy.py; ui/head_pages.py)
HF_TEXT = "hf_text"  # the sentence picker's keys for prefix "hf" (ui/sentence_picker.py)
HF_PAIR = "hf_pair"
HF_PROBE = "hf_probe"
HF_PATTERN = "hf_pattern"
HF_WORDS = "hf_words"
HF_TABLE = "hf_table"  # the ranking table (its row selection opens the explorer)
HF_URL_READ = "hf_url_read"  # the URL's view was applied to the widgets once this session
HA_RELATION = "ha_relation"
HA_PAIR = "ha_pair"  # twin pair shown, counted from 1
HA_LAYER = "ha_layer"  # head whose answers on that pair are shown, counted from 1
HA_HEAD = "ha_head"
HA_URL_READ = "ha_url_read"

# --- "What attention can tell you" (pages/uses.py; ui/uses.py)
US_TEXT = "us_text"  # the tweet for the planted-artifact experiment
US_MODEL = "us_model"  # BiLSTM or MiniLM (planted)
US_TOKEN = "us_token"  # the artifact token appended or not
US_COMPARE_TEXT = "us_compare_text"
US_LAYER = "us_layer"
US_HEAD = "us_head"
US_ERROR_MODEL = "us_error_model"
US_ERROR_CONFIDENCE = "us_error_confidence"
US_ERROR_WORDS = "us_error_words"
US_ERROR_PICK = "us_error_pick"
US_NOTES = "us_notes"  # the learner's own notes on errors: {model|test index: text}

# ---------------------------------------------------------------------------- kept across pages
# Value widgets whose setting a learner expects to find again after visiting another page. Streamlit
# drops a widget's value after any run that does not draw it (every run of another page), so
# streamlit_app.py stores these again at the start of every run. Buttons, tables, charts and
# download buttons are not listed: their values cannot be set through st.session_state.
KEPT_ACROSS_PAGES = (
    HX_TEXT, HX_PAIR, HX_PROBE, HX_LAYER, HX_HEADS, HX_VIEW, HX_WORDS, HX_HIDE, HX_TWIN, HX_FOCUS,
    HX_THRESHOLD, HX_TOP_K, HX_ROW_START, HX_COL_START,
    FORMULA_TEXT, FORMULA_LAYER, FORMULA_HEAD, FORMULA_QUERY,
    TOY_TOKENS, TOY_D_K, TOY_SEED, TOY_SCALED, SCALING_KEYS, SCALING_DRAWS,
    NE_TEXT, NE_EXAMPLE, NE_MODEL, NE_LAYER, NE_HEADS, NE_SAMPLE_N,
    GA_TEXT, GA_TARGET, GA_LAYER, GA_HEAD, GA_SIGNED, GA_SHOW_CELLS,
    RF_TEXT, RF_LAYER, RF_FUSION, RF_DISCARD, RF_POSITION, RF_METHOD, RF_SHOW_CELLS,
    FA_TEXT, FA_REFERENCE,
    HF_TEXT, HF_PAIR, HF_PROBE, HF_PATTERN, HF_WORDS,
    HA_RELATION, HA_PAIR, HA_LAYER, HA_HEAD,
    US_TEXT, US_MODEL, US_TOKEN, US_COMPARE_TEXT, US_LAYER, US_HEAD, US_ERROR_MODEL, US_ERROR_CONFIDENCE,
    US_ERROR_WORDS,
)


def keep_widget_values() -> None:
    """Store every kept widget value again, so the run of another page does not drop it."""
    state = st.session_state
    for key in KEPT_ACROSS_PAGES:
        if key in state:
            state[key] = state[key]
