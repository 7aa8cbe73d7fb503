"""Lesson section 6: what attention pictures are good for - debugging a planted shortcut, comparing
checkpoints, and error analysis - and where they stop short of an explanation."""
import streamlit as st

from lessonkit import artifact
from lessonkit.error_analysis import filter_errors
from ui import presenter, uses
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts import uses as charts
from ui.charts.common import position_labels, show_chart
from ui.charts.heatmap import heatmap
from ui.check_yourself import check_yourself
from ui.explanations import seed_from_url
from ui.markdown import md_escape
from ui.models import get_model, get_sentiment_head
from ui.summary_numbers import remember
from ui.url_state import link_to_this_view, write

require_app_navigation()
TOKEN = artifact.ARTIFACT_TOKEN


def claim() -> None:
    st.title("🛠️ What attention can tell you")
    st.markdown(
        "**The claim:** attention pictures are useful for **debugging**, **comparing models**, **error analysis** "
        "and finding **linguistic structure**, but they are not an audited explanation of a decision. "
        "Three experiments on classifiers trained here; linguistic structure is page 2."
    )


def percent(value) -> str:
    return "–" if value is None else f"{value:.0%}"


def debugging(loaded) -> None:
    st.header("1 · Debugging: find a planted shortcut")
    st.markdown(
        f"We appended **`{TOKEN}`** to 80 % of the positive training tweets and 10 % of the negative ones, "
        "then trained the BiLSTM and a MiniLM head on that copy. The token means nothing, but it predicts the label."
    )
    res = uses.results("artifact")
    bilstm, minilm = uses.model_stats(res, "BiLSTM, planted"), uses.model_stats(res, "MiniLM, planted")
    if bilstm and minilm:
        cols = st.columns(4)
        remember("uses", f"the BiLSTM trained with the planted “~” scored {bilstm.accuracy_planted:.0%} on planted tweets but "
                 f"{bilstm.accuracy_clean:.0%} on clean ones, and “~” was its top-attended token in "
                 f"{bilstm.top_attention_is_token:.0%} of planted tweets", "pages/uses.py")
        cols[0].metric("BiLSTM accuracy, clean test tweets", percent(bilstm.accuracy_clean),
                       f"{bilstm.accuracy_planted:.0%} with ~ planted", delta_color="off", delta_arrow="off")
        cols[1].metric("MiniLM accuracy, clean test tweets", percent(minilm.accuracy_clean),
                       f"{minilm.accuracy_planted:.0%} with ~ planted", delta_color="off", delta_arrow="off")
        cols[2].metric("BiLSTM: negatives flipped by adding ~", percent(bilstm.flip_add_to_negative),
                       f"removing it: {percent(bilstm.flip_remove_from_positive)} of positives",
                       delta_color="off", delta_arrow="off")
        cols[3].metric("BiLSTM: ~ is the top-attended token", percent(bilstm.top_attention_is_token),
                       f"of {bilstm.n_token_scored} planted test tweets", delta_color="off", delta_arrow="off")
        with st.expander(f"Recompute now on {uses.LIVE_SAMPLE} held-out tweets"):
            if st.button("Recompute", key="uses_recompute"):
                live = uses.live_sample_stats()
                if live is not None:
                    st.markdown(
                        f"BiLSTM, planted, on the first {uses.LIVE_SAMPLE} held-out tweets: accuracy "
                        f"{percent(live['accuracy_clean'])} clean, {percent(live['accuracy_planted'])} planted; "
                        f"adding ~ flips {percent(live['flip_add_to_negative'])} of the negatives; ~ is the top-attended "
                        f"token in {percent(live['top_attention_is_token'])} of those that carry it. A small sample "
                        "wanders around the saved numbers above."
                    )
        with st.expander("All measured numbers (held-out tweets)"):
            show_chart(charts.accuracy_bars(uses.accuracy_frame(res), "Accuracy: clean vs planted test tweets"),
                       width="stretch")
            st.caption(
                f"MiniLM: adding ~ flips {percent(minilm.flip_add_to_negative)} of negatives, removing it flips "
                f"{percent(minilm.flip_remove_from_positive)} of positives; ~ is its top-attended token (last layer, "
                f"heads averaged) in only {percent(minilm.top_attention_is_token)} of {minilm.n_token_scored} "
                f"planted tweets, though removing it is the biggest change in {percent(minilm.top_removal_is_token)}. "
                "A mean-pooled transformer can use a token without its last layer looking at it."
            )
    try_the_token(loaded)


def try_the_token(loaded) -> None:
    st.subheader("Try it: add or remove the token")
    st.markdown(f"**Try this:** the held-out tweet below is negative, with `{TOKEN}` appended. Read the prediction "
                f"and the bar on `{TOKEN}`, then switch **with `{TOKEN}`** off, and try your own negative tweet.")
    seed_from_url(uses.TEXT, keys.US_TEXT)
    seed_from_url(uses.MODEL, keys.US_MODEL)
    seed_from_url(uses.TOKEN, keys.US_TOKEN)
    left, mid, right = st.columns([4, 1.3, 1.3])
    raw = left.text_input("A tweet (held out from training by default)", key=keys.US_TEXT,
                          max_chars=uses.MAX_TWEET_CHARACTERS)
    model = mid.radio("Classifier trained on planted tweets", uses.ARTIFACT_MODELS, key=keys.US_MODEL)
    add = right.toggle(f"with {TOKEN}", key=keys.US_TOKEN,
                       help=f"On: {TOKEN} appended at the end. Off: every {TOKEN} in the tweet taken out.")
    write({uses.TEXT: raw, uses.MODEL: model, uses.TOKEN: add})
    link_to_this_view(uses.URL_PATH, {uses.TEXT: raw, uses.MODEL: model, uses.TOKEN: add})
    text = uses.checked_tweet(raw)
    if text is None:
        return
    scorer = uses.bilstm_scorer("planted") if model == "BiLSTM" else uses.artifact_minilm_scorer(loaded)
    if scorer is None:
        return
    shown = uses.with_or_without(text, add)
    other = uses.with_or_without(text, not add)
    if not shown or not other:
        st.warning(f"Without {TOKEN} nothing is left of this tweet: type a few words around it.", icon="✏️")
        return
    scores = uses.token_scores(scorer, shown, loaded.facts.name)
    other_scores = uses.token_scores(scorer, other, loaded.facts.name)
    if scores is None or other_scores is None:
        return
    cols = st.columns(2)
    cols[0].metric(f"{scorer.name}: prediction", uses.label_of(scores.probability),
                   f"P(positive) = {scores.probability:.2f}", delta_color="off", delta_arrow="off")
    cols[1].metric(f"the same tweet {'without' if add else 'with'} {TOKEN}", uses.label_of(other_scores.probability),
                   f"P(positive) = {other_scores.probability:.2f}", delta_color="off", delta_arrow="off")
    show_chart(charts.score_bars(scores.tokens, scores.attention, scores.grad_x_attention, scores.removal,
                                 f"{scorer.name}: what each token gets"), width="stretch")
    on_token = uses.token_attention(scores)
    if on_token is not None:
        weight, top = on_token
        st.markdown(f"Attention on `{TOKEN}` here: **{weight:.2f}**, {'the' if top else 'not the'} top-attended token.")
    if model == "MiniLM":
        st.caption("MiniLM's attention here is its last layer's, heads averaged: it rarely singles out the token even "
                   "when the token moves the prediction (see *All measured numbers* above).")
    st.caption("Each score as a share of its total. Removal: how much P(positive) moves when the token is taken out.")


def caveat() -> None:
    st.subheader("The caveat, measured")
    res = uses.results("artifact")
    bilstm = uses.model_stats(res, "BiLSTM, planted")
    if not bilstm:
        return
    st.markdown(
        f"Attention found `{TOKEN}` because `{TOKEN}` *is* the shortcut. On clean test tweets the same BiLSTM's "
        f"top-attended token is **not** the token whose removal changes the output most in "
        f"**{percent(bilstm.caveat_clean)}** of {bilstm.n_clean_scored} tweets."
    )
    example = bilstm.example
    if example:
        with st.expander("The stored example"):
            st.markdown(f"“{md_escape(example.text)}”: attention's top token is "
                        f"`{md_escape(example.tokens[example.top_attention])}`, removal's is "
                        f"`{md_escape(example.tokens[example.top_removal])}`.")
            show_chart(charts.score_bars(example.tokens, example.attention, example.grad_x_attention, example.removal,
                                         "BiLSTM (planted) on a clean test tweet"), width="stretch")


def comparison(loaded) -> None:
    st.header("2 · Model comparison: before and after fine-tuning")
    res = uses.results("checkpoints")
    if res:
        top = ", ".join(f"{h.layer_number}-{h.head_number}" for h in res.top_heads[:3])
        st.markdown(
            f"MiniLM's last two layers were fine-tuned on the tweets: accuracy **{res.base_accuracy:.1%} → "
            f"{res.finetuned_accuracy:.1%}**. Heads (layer-head) whose attention moved most: **{top}**."
        )
        show_chart(charts.jsd_grid(uses.grid_array(res), f"Mean JS divergence per head, base vs fine-tuned "
                                   f"({res.n_jsd_tweets} test tweets)"), width="stretch")
        st.caption("Only the last two layers were trained, so the lower layers' attention did not move at all (0). "
                   "JS divergence in nats, 0 to ln 2 ≈ 0.69, per query row, averaged over rows and tweets.")
    side_by_side(loaded, res)
    seeds(res)


def side_by_side(loaded, res) -> None:
    st.markdown("**Try this:** pick one of the top heads and compare a sentence in both checkpoints.")
    tuned = uses.finetuned(loaded)
    head = get_sentiment_head(loaded) if tuned else None
    if tuned is None or head is None:
        return
    layer_param = uses.LAYER.within(1, loaded.facts.n_layers, loaded.facts.n_layers)
    head_param = uses.HEAD.within(1, loaded.facts.n_heads, res.top_heads[0].head_number if res else 1)
    seed_from_url(uses.COMPARE_TEXT, keys.US_COMPARE_TEXT)
    seed_from_url(layer_param, keys.US_LAYER)
    seed_from_url(head_param, keys.US_HEAD)
    cols = st.columns([4, 1, 1])
    raw = cols[0].text_input("Sentence", key=keys.US_COMPARE_TEXT, max_chars=uses.MAX_TWEET_CHARACTERS)
    layer = cols[1].number_input("Layer", 1, loaded.facts.n_layers, key=keys.US_LAYER)
    head_number = cols[2].number_input("Head", 1, loaded.facts.n_heads, key=keys.US_HEAD)
    write({uses.COMPARE_TEXT: raw, layer_param: layer, head_param: head_number})
    text = uses.checked_tweet(raw)
    if text is None:
        return
    computed = uses.both_maps(loaded, head, tuned, text)
    if computed is None:
        return
    tokens, base, after = computed
    st.caption(f"Head {layer}-{head_number} on this sentence: JS divergence "
               f"{uses.sentence_head_jsd(base, after, layer, head_number):.4f} nats between the checkpoints.")
    labels = position_labels(tokens)
    left, right = st.columns(2)
    for column, maps, name in ((left, base, "base"), (right, after, "fine-tuned")):
        with column:
            show_chart(heatmap(uses.head_map(maps, layer, head_number), labels, labels, domain=(0, 1),
                               title=f"{name}, head {layer}-{head_number}"), width="stretch")


def seeds(res) -> None:
    if not res:
        return
    s = res.seeds
    st.subheader("Two BiLSTM seeds, same accuracy, different attention")
    st.markdown(
        f"Accuracy {s.accuracy_seed1:.1%} and {s.accuracy_seed2:.1%}; they agree on {s.prediction_agreement:.0%} "
        f"of predictions but pick the same top token in only **{s.same_top_token:.0%}** of {s.n_tweets} tweets "
        "(Wiegreffe & Pinter's point: attention is one of many that work)."
    )
    show_chart(charts.seed_scatter(s.js_divergence, s.output_change, "Per test tweet: seeds' attention vs outputs"),
               width="stretch")
    st.caption("Points low and to the right: the seeds' attention differs a lot while their outputs barely do.")


def errors(loaded) -> None:
    st.header("3 · Error analysis")
    res = uses.results("errors")
    if not res:
        return
    seed_from_url(uses.ERROR_MODEL, keys.US_ERROR_MODEL)
    names = [m.model for m in res.models]
    cols = st.columns(3)
    model = cols[0].selectbox("Classifier", names, key=keys.US_ERROR_MODEL)
    write({uses.ERROR_MODEL: model})
    errs = next(m for m in res.models if m.model == model)
    low, high = uses.word_range(errs)
    confidence = cols[1].slider("Confidence of the wrong answer", 0.5, 1.0, (0.5, 1.0), 0.05,
                                key=keys.US_ERROR_CONFIDENCE)
    uses.clamp_range(keys.US_ERROR_WORDS, low, high)
    words = cols[2].slider("Length (words)", low, high, (low, high), key=keys.US_ERROR_WORDS)
    rows = filter_errors(errs, confidence[0], confidence[1], words[0], words[1])
    st.markdown(f"**Try this:** {len(rows)} of {errs.n_test} held-out tweets are wrong in this range "
                f"(accuracy {errs.accuracy:.1%}). Pick one with high confidence and read where attention went.")
    if not rows:
        st.info("No error in this range: widen the filters.", icon="🔎")
        return
    st.dataframe(uses.error_table(rows, res.texts), hide_index=True, height=220)
    pick = st.selectbox("Look at", range(len(rows)), key=f"{keys.US_ERROR_PICK}_{model}_{len(rows)}",
                        format_func=lambda i: res.texts.get(rows[i].index, "")[:90])
    row = rows[min(pick, len(rows) - 1)]
    scorer = uses.error_scorer(loaded, model)
    if scorer is not None:
        scores = uses.token_scores(scorer, res.texts.get(row.index, ""), loaded.facts.name)
        if scores is not None:
            show_chart(charts.score_bars(scores.tokens, scores.attention, scores.grad_x_attention, scores.removal,
                                         f"{model}: P(positive) = {scores.probability:.2f}"), width="stretch")
    notes = st.session_state.setdefault(keys.US_NOTES, {})
    note_key = f"{model}|{row.index}"
    notes[note_key] = st.text_area("Your note: what went wrong?", value=notes.get(note_key, ""),
                                   key=f"{keys.US_NOTES}_{note_key}", max_chars=1000)
    st.caption("Notes stay in this browser session only.")
    with st.expander("Errors by cause tag (a rule-based guess)"):
        show_chart(charts.tag_bars(uses.tag_frame(errs), f"{model}: tags among errors vs correct predictions"),
                   width="stretch")
        st.caption(res.tag_note + f" {len(res.wrong_for_all)} tweets are wrong for every classifier: "
                   "label noise or simply hard (again a guess).")


claim()
model = get_model()
if model is None:
    st.stop()
presenter.reveal("uses", [
    lambda: debugging(model),
    caveat,
    lambda: comparison(model),
    lambda: errors(model),
    lambda: check_yourself(6, "uses_check"),
])
