"""ipywidgets forms and a data explorer: the portal's workflows inside a notebook.

- :class:`CredentialsManager`: a provider's credentials (user access tokens) and their
  scoped databases: add, rotate, remove, scope databases in and out.
- :class:`CreateCollectionForm` and :class:`CreateTableForm`: new collections and tables with
  vectorize, the equivalent Data API JSON and curl command shown live.
- :class:`Explorer`: page through a collection or table, insert a DataFrame, search.

Every action is a Python method of the widget, which calls the Python API; errors are shown
in the widget with their Data API code.
"""

from __future__ import annotations

from .credentials import CredentialsManager
from .explorer import Explorer
from .forms import CreateCollectionForm, CreateTableForm

__all__ = ["CredentialsManager", "CreateCollectionForm", "CreateTableForm", "Explorer"]
