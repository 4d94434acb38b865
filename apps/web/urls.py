from django.urls import path

from .views import curator, evidence, experts, imports, network, researcher, saved, search, study

app_name = "web"

urlpatterns = [
    path("", search.search, name="home"),
    path("search/", search.search, name="search"),
    path("studies/<int:pk>/", study.study, name="study"),
    path("researchers/<int:pk>/", researcher.researcher, name="researcher"),
    path("network/", network.network, name="network"),
    path("evidence-map/", evidence.evidence_map, name="evidence-map"),
    path("experts/", experts.experts, name="experts"),
    path("saved-searches/", saved.saved_searches, name="saved-searches"),
    path("saved-searches/<int:pk>/run/", saved.saved_search_run, name="saved-search-run"),
    path("saved-searches/<int:pk>/delete/", saved.saved_search_delete, name="saved-search-delete"),
    path("login/", curator.LoginView.as_view(), name="login"),
    path("logout/", curator.LogoutView.as_view(), name="logout"),
    path("curator/", curator.dashboard, name="curator"),
    path("curator/summaries/new/", curator.summary_edit, name="summary-new"),
    path("curator/summaries/<int:pk>/", curator.summary_edit, name="summary-edit"),
    path("curator/summaries/<int:pk>/<slug:action>/", curator.summary_action, name="summary-action"),
    path("curator/imports/", imports.imports, name="imports"),
    path("curator/imports/<int:pk>/", imports.import_job, name="import-job"),
    path("curator/imports/<int:pk>/undo/", imports.import_undo, name="import-undo"),
    path("curator/imports/<int:pk>/publish/", imports.import_publish, name="import-publish"),
    path("curator/imports/<int:pk>/entries/<int:index>/", imports.import_entry, name="import-entry"),
    path("curator/reviews/", imports.reviews, name="import-reviews"),
    path("curator/reviews/<int:pk>/resolve/", imports.resolve, name="import-resolve"),
]
