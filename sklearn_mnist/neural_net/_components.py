"""How a classifier's module, criterion and optimizer are built and rebuilt.

skorch builds the three components in ``initialize`` and, when ``set_params``
changes one of them on a fitted net, rebuilds it (and those after it) at once.
``ComponentsMixin`` keeps skorch's behaviour with two changes a scikit-learn
user expects:

- a component that cannot be built from its parameters raises a
  ``ValueError`` naming them, not a ``TypeError`` from inside torch;
- on a fitted net such a value is kept and the component is *stale*: the net
  still predicts with its fitted network, and the next ``fit`` /
  ``partial_fit`` rebuilds it or refuses the value (scikit-learn validates at
  fit), as ``save`` refuses a net whose file would not match its weights.

Other parts of the package see this through :meth:`stale_components` and
:meth:`torch_components` only.
"""

import contextlib

import torch
from torch import nn

from ..utils import resolve_device
from ._params import skorch_can_build

__all__ = ["COMPONENTS", "ComponentsMixin"]

COMPONENTS = ("module", "criterion", "optimizer")  # skorch's build order


class ComponentsMixin:
    """Building, rebuilding and naming the torch components of a net."""

    # ----------------------------------------------------------- hooks for others
    def stale_components(self):
        """The components ``set_params`` changed after fit that could not be
        built from their new values (rebuilt or refused at the next fit);
        empty when the network matches the parameters."""
        return frozenset(self.__dict__.get("_stale", ()))

    def torch_components(self):
        """``{name: module}`` of the built modules and criteria that are torch
        modules, the ones with weights to save (attribute ``name + "_"``)."""
        out = {}
        for name in [*self._modules, *self._criteria]:
            value = getattr(self, name + "_", None)
            if isinstance(value, nn.Module):
                out[name] = value
        return out

    def component_attributes(self):
        """Names of the attributes holding built components (modules,
        criteria, optimizers; custom ones included): torch state, not
        fitted values a model file stores as data."""
        names = [*self._modules, *self._criteria, *self._optimizers]
        return {name + "_" for name in names}

    # ------------------------------------------------------------------ building
    def initialize(self):
        # The one place "auto" is resolved; skorch's own code that would move
        # things to ``self.device`` is overridden below to use ``device_``.
        self.device_ = resolve_device(self.device)
        try:
            super().initialize()
        except ValueError:
            if self.__dict__.get("initialized_"):  # a fitted net, part rebuilt
                self.__dict__["_stale"] = set(COMPONENTS)
            raise
        self.__dict__.pop("_stale", None)
        return self

    @contextlib.contextmanager
    def _building(self, prefix):
        """A component that cannot be built from its parameters is a
        ValueError naming them, not a TypeError from deep inside torch."""
        try:
            yield
        except (TypeError, ValueError, AttributeError) as exc:
            owner = getattr(self, prefix)
            what = getattr(owner, "__name__", type(owner).__name__)
            raise ValueError(
                f"{type(self).__name__} cannot build its {prefix} ({what}) from "
                f"{prefix}={owner!r} and the {prefix}__* parameters: {exc}"
            ) from exc

    def _initialize_module(self, reason=None):
        with self._building("module"), self._current_init_context("module"):
            self.initialize_module()
            module = self.module_.to(self.device_)
            self.module_ = self.torch_compile(module, name="module")
        return self

    def _initialize_criterion(self, reason=None):
        with self._building("criterion"), self._current_init_context("criterion"):
            self.initialize_criterion()
            if isinstance(self.criterion_, nn.Module):
                criterion = self.criterion_.to(self.device_)
                self.criterion_ = self.torch_compile(criterion, name="criterion")
        return self

    def _initialize_optimizer(self, reason=None):
        with self._building("optimizer"):
            return super()._initialize_optimizer(reason=reason)

    def initialize_criterion(self):
        # Per-sample losses, so sample weights can weigh them (get_loss).
        kwargs = self.get_params_for("criterion")
        if isinstance(self.criterion, type) and issubclass(
            self.criterion, nn.modules.loss._Loss
        ):
            kwargs.setdefault("reduction", "none")
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def _module_defaults(self):
        """Arguments a module class gets unless ``module__*`` sets them."""
        return {"in_shape": self.image_shape_, "n_classes": len(self.classes_)}

    def _module_kwargs(self):
        """What a module class is built with: ``module__*``, then defaults."""
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            for key, value in self._module_defaults().items():
                kwargs.setdefault(key, value)
        return kwargs

    def initialize_module(self):
        kwargs = self._module_kwargs()
        self.module_ = self.initialized_instance(self.module, kwargs)
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    # ---------------------------------------------------------------- rebuilding
    def _set_own_params(self, params):
        """skorch's ``set_params`` for the net's own parameters (nested
        objects' are the caller's): stored, and on a fitted net the
        components they belong to rebuilt."""
        if "callbacks" in params:
            # skorch rebuilds the callbacks as soon as they are set, from the
            # value it finds: store the new one first. A value it cannot build
            # is kept as it is and refused at fit, where scikit-learn's
            # estimators validate parameters.
            vars(self)["callbacks"] = params["callbacks"]
            if not skorch_can_build(params["callbacks"]):
                params = {k: v for k, v in params.items() if k != "callbacks"}
        if params and self.initialized_:
            self._set_params_fitted(params)
        elif params:
            super().set_params(**params)

    def _set_params_fitted(self, params):
        """skorch's ``set_params`` on a fitted net, which stores the values, then
        rebuilds the module / criterion / optimizer they belong to at once. A
        value that cannot build its component is kept and refused at the next
        fit, as scikit-learn validates at fit (skorch raised from the rebuild,
        and "Something went wrong" for ``optimizer=`` / ``iterator_*=`` /
        ``dataset=``); until then the fitted network predicts as before."""
        self.__dict__["initialized_"] = False  # store only (skorch's early exit)
        try:
            super().set_params(**params)
        finally:
            self.__dict__["initialized_"] = True
        for key, value in params.items():
            # skorch applies optimizer__* to the live optimizer only; stored
            # too, as on an unfitted net, get_params, clone and fit see them.
            # (``lr`` is virtual for skorch too, but a parameter of __init__:
            # stored already, and never a name to validate as ``prefix__x``.)
            if self._is_virtual_param(key) and "__" in key:
                setattr(self, key, value)
                self._params_to_validate.add(key)
        heads = {
            key.split("__", 1)[0] for key in params if not self._is_virtual_param(key)
        }
        components = set()
        if heads & set(self._modules):
            components = {"module", "criterion", "optimizer"}
        elif heads & set(self._criteria):
            components = {"criterion", "optimizer"}
        elif heads & set(self._optimizers):
            components = {"optimizer"}
        if components:
            self._rebuild(components)
        elif any(self._is_virtual_param(key) for key in params):
            self._check_optimizer_arguments()

    def _check_optimizer_arguments(self):
        """skorch writes ``optimizer__*`` set after fit into the live
        optimizer's param groups, unchecked: build a spare optimizer from
        them, and leave the optimizer stale (refused at the next fit and by
        save) when it cannot be built."""
        try:
            with self._building("optimizer"):
                args, kwargs = self.get_params_for_optimizer(
                    "optimizer", self.get_all_learnable_params()
                )
                self.optimizer(*args, **kwargs)
        except ValueError:
            self.__dict__.setdefault("_stale", set()).add("optimizer")
            return
        if "optimizer" in self.stale_components():
            self._rebuild({"optimizer"})  # good values again: build it now

    def _rebuild(self, components):
        """Rebuild ``components`` (in skorch's order) of a fitted net; one that
        cannot be built stays stale with those after it, to be rebuilt (or
        refused) before the next training."""
        stale = self.__dict__.setdefault("_stale", set())
        todo = [c for c in COMPONENTS if c in components or c in stale]
        for i, component in enumerate(todo):
            try:
                getattr(self, f"_initialize_{component}")()
            except ValueError:
                stale.update(todo[i:])
                return
            stale.discard(component)
        if not stale:
            self.__dict__.pop("_stale")

    def _rebuild_stale(self):
        """Before a warm fit or a later partial_fit: rebuild what set_params
        left stale, or refuse its parameters."""
        stale = self.stale_components()
        for component in COMPONENTS:
            if component in stale:
                getattr(self, f"_initialize_{component}")()
        self.__dict__.pop("_stale", None)
