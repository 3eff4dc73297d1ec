"""Optimizers of the papers' recipes: AdamW with their weight-decay exclusions, or SGD."""

import keras

# The optimizers of the recipes.
OPTIMIZERS = ("adamw", "sgd")

# Which variables a recipe keeps out of weight decay, by rule name.
DECAY_EXCLUSIONS = {
    # NesT's official code: only the position embeddings.
    "position_embedding": lambda variable: "pos_embed" in variable.path,
    # timm's train.py (the Compact Transformers): every tensor of rank <= 1.
    "bias_and_norm": lambda variable: len(variable.shape) <= 1,
    # timm's ViT no_weight_decay: the class token.
    "class_token": lambda variable: "class_token" in variable.path,
}


@keras.saving.register_keras_serializable(package="keras_nest")
class AdamW(keras.optimizers.AdamW):
    """``keras.optimizers.AdamW`` that evaluates a learning-rate schedule once per step.

    Keras's weight decay reads ``learning_rate`` once per variable, so a schedule runs once
    per variable: each run adds its ops to the traced train step. Here the decay of all
    variables reads the one value of the step; the updates are the same.
    """

    _step_learning_rate = None  # the step's learning rate while the weight decay runs

    def _apply_weight_decay(self, variables):
        self._step_learning_rate = self._get_current_learning_rate()
        try:
            super()._apply_weight_decay(variables)
        finally:
            self._step_learning_rate = None

    def _get_current_learning_rate(self):
        if self._step_learning_rate is not None:
            return self._step_learning_rate
        return super()._get_current_learning_rate()


def build_optimizer(
    model,
    learning_rate,
    kind="adamw",
    weight_decay=0.05,
    exclude_from_decay=("position_embedding",),
    momentum=0.9,
    global_clipnorm=None,
    gradient_accumulation_steps=None,
    ema_momentum=None,
):
    """The optimizer of a recipe, its exclusions resolved against ``model``'s variables.

    Args:
        model: the built model (its variables decide the exclusions).
        learning_rate: a float or a schedule.
        kind: "adamw" (decoupled weight decay, as the papers) or "sgd"
            (momentum, no weight decay: ViT fine-tuning).
        weight_decay: AdamW's decoupled decay.
        exclude_from_decay: rule names of :data:`DECAY_EXCLUSIONS`.
        momentum: SGD's momentum.
        global_clipnorm: clip the global gradient norm to this.
        gradient_accumulation_steps: apply the update every this many batches.
        ema_momentum: keep an exponential moving average of the weights (they
            replace the weights at the end of ``fit``); None for none.

    Raises:
        ValueError: for an unknown kind or exclusion rule.
    """
    unknown = sorted(set(exclude_from_decay) - set(DECAY_EXCLUSIONS))
    if unknown:
        raise ValueError(
            f"Unknown weight-decay exclusions {unknown}; known: {sorted(DECAY_EXCLUSIONS)}."
        )
    common = dict(
        learning_rate=learning_rate,
        global_clipnorm=global_clipnorm,
        gradient_accumulation_steps=gradient_accumulation_steps,
        use_ema=ema_momentum is not None,
        ema_momentum=ema_momentum or 0.99,
    )
    if kind == "sgd":
        return keras.optimizers.SGD(momentum=momentum, **common)
    if kind != "adamw":
        raise ValueError(f"kind must be one of {list(OPTIMIZERS)}, got {kind!r}.")
    optimizer = AdamW(weight_decay=weight_decay, epsilon=1e-8, **common)
    apply_decay_exclusions(optimizer, model, exclude_from_decay)
    return optimizer


def apply_decay_exclusions(optimizer, model, exclude_from_decay):
    """Keeps the variables the rules name out of ``optimizer``'s weight decay.

    Needed again after a ``.keras`` reload, which does not store exclusions.
    """
    rules = [DECAY_EXCLUSIONS[name] for name in exclude_from_decay]
    excluded = [v for v in model.trainable_variables if any(rule(v) for rule in rules)]
    if excluded:
        optimizer.exclude_from_weight_decay(var_list=excluded)
