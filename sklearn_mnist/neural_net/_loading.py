"""Putting saved state back into a net, on the device it resolves to.

The ``device`` parameter is the user's value (``"auto"`` included) and never
changes; the network lives on ``device_``. skorch reads, and rewrites,
``self.device`` while it loads parameters or unpickles a net, so the two
entry points it has (``load_params``, ``__setstate__``) show it the resolved
device for the call and the user's value again after. ``initialize_offline``
is what ``sklearn_mnist.load`` builds a net from a model file with.
"""

from ._offline import pretrained_weights_off

__all__ = ["LoadingMixin", "OFFLINE_PARAMS"]

#: Parameters that may name pretrained weights to download or a file to read;
#: a network built for weights from a model file is built without them.
OFFLINE_PARAMS = ("weights", "module__weights")


class LoadingMixin:
    """skorch's loading entry points, mapped to ``device_``."""

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``, mapping tensors to ``device_``.

        skorch reads (and may rewrite) ``self.device`` while loading; it sees
        the resolved device and ``device`` is the user's value again after.
        """
        if not hasattr(self, "device_"):
            self.initialize()
        requested = self.__dict__["device"]
        self.__dict__["device"] = self.device_
        try:
            return super().load_params(*args, **kwargs)
        finally:
            self.__dict__["device_"] = self.__dict__["device"]
            self.__dict__["device"] = requested

    def __setstate__(self, state):
        requested = state["device"]
        # Unpickle onto the device the tensors were saved from; skorch maps
        # them to the CPU on a machine without that GPU.
        state["device"] = state.get("device_", "cpu")
        super().__setstate__(state)
        if "device_" in state:  # an unfitted net stays without one (deepcopy)
            self.__dict__["device_"] = self.__dict__["device"]
        self.__dict__["device"] = requested

    def initialize_offline(self, device):
        """Build the network on ``device`` to receive saved weights.

        Nothing is downloaded or read: any parameter that names pretrained
        weights (``weights``, ``module__weights``) is None for the build (the
        saved weights replace them, and a path or a download may not exist on
        this machine). The parameters are the user's values again after.
        """
        swaps = {"device": device}
        swaps.update({key: None for key in OFFLINE_PARAMS if key in vars(self)})
        saved = {key: vars(self)[key] for key in swaps}
        vars(self).update(swaps)
        try:
            with pretrained_weights_off():  # any module's backbone, too
                self.initialize()
        finally:
            vars(self).update(saved)
        return self
