"""Streamlit-side helpers shared by the pages: caching, error display, small widgets."""
