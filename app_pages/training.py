"""Training: retrain a model as a background job, watch its progress, cancel it."""

from datetime import timedelta

import streamlit as st

from dashboard import jobs, services
from lulc_core.errors import LulcError

TASKS = {"classifier": "EuroSAT classifier (names the land cover of a small image tile)",
         "segmenter": "City map model (U-Net that maps every pixel of one city)"}
CLASSIFIER_WEIGHTS = {"imagenet": "ImageNet (pre-trained on photos: learns faster)",
                      "none": "None (from scratch: needs many more epochs)"}
ENCODER_WEIGHTS = {"eurosat": "our EuroSAT classifier (recommended)",
                   "lite0-imagenet": "ImageNet, offline (Lite0 encoder only)",
                   "imagenet": "ImageNet (needs internet)", "none": "none (from scratch)"}
TRIAL_LIMIT = {"classifier": 20, "segmenter": 200}


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else str(timedelta(seconds=round(seconds)))


def job_panel(was_running: bool) -> None:
    """The latest job: live progress while it runs, its outcome after. Everyone sees that a job
    runs and how far it is; its log and error (file paths of this server) need the token."""
    job = jobs.current_job()
    if job is None:
        st.caption("No training job has run yet.")
        return
    if was_running and not job.running:
        st.rerun()  # the whole page: outcome, start button, model lists
    authorized = jobs.token_matches(st.session_state.get("job_token"), job)
    spec = job.spec
    st.markdown(f"**{spec.task.capitalize()} `{spec.model_name}`**, {spec.epochs} epochs, "
                f"started {job.started}")
    progress = jobs.read_progress(job)
    if job.running:
        if progress is None:
            st.progress(0.0, text="Starting: loading the libraries and the training data...")
        else:
            st.progress(progress.fraction, text=f"Epoch {progress.epoch} of {progress.epochs} "
                        f"({progress.fraction:.0%} done)")
            loss, eta, elapsed = st.columns(3)
            loss.metric("Training loss", "-" if progress.loss is None else f"{progress.loss:.4f}",
                        help="How wrong the model still is on its training images; it should "
                        "go down.")
            eta.metric("Time left (estimate)", _duration(progress.eta_seconds))
            elapsed.metric("Running for", _duration(progress.elapsed_seconds))
        if jobs.retraining_enabled() and st.button("Cancel training", key="job_cancel"):
            try:
                jobs.cancel_job(st.session_state.get("job_token"))
                st.info("Cancelling... the current models stay as they are.")
            except LulcError as e:
                st.error(str(e))
    elif job.state == "succeeded":
        # Nothing to clear: services' caches are keyed by the mtime of the files they read,
        # so the new model's card, scores and weights are read on the next run of any session.
        st.success(f"Finished: model `{spec.model_name}` is saved and now appears in the model "
                   f"selectors of the other pages.")
    elif job.state == "cancelled":
        st.warning("This job was cancelled. The models that existed before are unchanged.")
    else:
        st.error(f"This job failed: {job.message}" if authorized else
                 "This job failed. The models that existed before are unchanged.")
    if authorized:
        with st.expander("Log (last 20 lines)", expanded=job.running):
            st.code(jobs.log_tail(job) or "(empty)", language=None)
    elif jobs.retraining_enabled():
        st.caption("The log and error messages are shown after you enter the admin token.")


st.title("Training")
st.markdown("Train a model again on this machine, for example with more epochs or another "
            "starting point. Training runs in the background: you can leave this page or close "
            "the browser and come back later. The model in use is replaced only when training "
            "finishes successfully; a failed or cancelled run changes nothing.")
enabled = jobs.retraining_enabled()
if not enabled:
    st.info(f"Retraining is disabled on this server because no admin token is set. To enable "
            f"it, start the app with a secret of your choice, e.g. "
            f"`{jobs.TOKEN_ENV}=my-secret make demo`, then enter that secret here.")
else:
    st.text_input("Admin token", type="password", key="job_token",
                  help="Shows the job's log, and lets you start or cancel training.")

st.subheader("Current job")
latest = jobs.current_job()
running = bool(latest and latest.running)
st.fragment(job_panel, run_every=2 if running else None)(running)  # live only while a job runs
if not enabled:
    st.stop()

# The registry imports torch (seconds): only when the form is shown, not for read-only visitors.
st.subheader("Start a new training")
task = st.radio("What to train", list(TASKS), format_func=TASKS.get, key="job_task")
if task == "classifier":
    architectures = jobs.classifier_architectures()
    model = st.selectbox("Architecture", architectures, key="job_model",
                         index=architectures.index("efficientnet_lite0"))
    weights = st.selectbox("Starting weights", list(CLASSIFIER_WEIGHTS),
                           format_func=CLASSIFIER_WEIGHTS.get, key="job_weights")
    fields = {"model": model, "weights": weights}
else:
    # only scenes with Urban Atlas labels can train a map model (the real sample has none)
    cities = [s.name for s in services.scenes() if s.labels_source]
    if not cities:
        st.warning("No city scene with Urban Atlas labels yet: run `lulc demo-data` and "
                   "`lulc prepare --city paris`.")
        st.stop()
    city = st.selectbox("City", cities, key="job_city")
    encoder = st.selectbox("Encoder", jobs.encoders(), key="job_encoder",
                           help="The image-reading half of the U-Net.")
    weights = st.selectbox("Encoder initialisation", list(ENCODER_WEIGHTS),
                           format_func=ENCODER_WEIGHTS.get, key="job_encoder_weights")
    source = jobs.eurosat_encoder_source(encoder)
    classifiers = {c.name for c in services.model_cards("classification")}
    if weights == "eurosat" and source not in classifiers:
        st.warning(f"This starting point needs the EuroSAT classifier `{source}`, which is not "
                   f"trained yet: train it first, or choose another encoder.")
    fields = {"city": city, "encoder": encoder, "weights": weights}
epochs = st.number_input("Epochs (passes over the training data)", 1, 1000, 10, key="job_epochs")
trial = st.checkbox("Quick trial on a small sample (checks the set-up in minutes; the model will "
                    "be poor)", key="job_trial")
name = st.text_input("Save as (model name)", key="job_name", placeholder="default: the model it "
                     "retrains (with -trial for a quick trial)", help="A new name adds a model; an "
                     "existing name replaces that model once training succeeds.")
resume = st.checkbox("Continue an interrupted run of this name", key="job_resume")
token = st.session_state.get("job_token")
if st.button("Start training", key="job_start", type="primary"):
    try:
        spec = jobs.JobSpec(task=task, epochs=int(epochs), name=name.strip() or None, resume=resume,
                            limit=TRIAL_LIMIT[task] if trial else None, **fields)
        jobs.start_job(spec, token)
    except LulcError as e:
        st.error(str(e))
    else:
        st.rerun()
