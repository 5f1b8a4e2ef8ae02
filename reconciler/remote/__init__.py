"""HTTP to everything that is not the People API: a running controller and notification targets.

``reconciler status`` reads a controller's ``/status``; the controller tells people about
transitions through Apprise and posts GitHub commit statuses. Like ``reconciler.people`` this is
an edge: the layers below never import it, and it is the only other place that talks HTTP.
"""
