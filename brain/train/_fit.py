"""The new last layer: a softmax over the bottlenecks, stopped early on validation loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from brain.train._bottlenecks import Features


@dataclass(frozen=True, kw_only=True)
class Schedule:
    epochs: int = 100
    patience: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3


def fit_head(
    train: Features, validation: Features, *, classes: int, schedule: Schedule
) -> tuple[Any, dict[str, list[float]]]:
    """The trained layer (a keras.Sequential) and its history (loss, accuracy per epoch)."""
    import keras

    keras.utils.set_random_seed(0)  # the same images give the same layer
    # Features centred and scaled as the training images have them: the softmax then
    # learns in a few epochs whatever the base's scale.
    standardize = keras.layers.Normalization(name="standardize")
    standardize.adapt(train.vectors)
    head = keras.Sequential(
        [
            keras.Input((train.vectors.shape[1],)),
            standardize,
            keras.layers.Dropout(0.2),
            keras.layers.Dense(classes, activation="softmax", name="classes"),
        ],
        name="head",
    )
    head.compile(
        optimizer=keras.optimizers.Adam(schedule.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    judged_on = "val_loss" if len(validation.labels) else "loss"
    with tqdm(total=schedule.epochs, desc="training", unit="epoch") as bar:
        history = head.fit(
            train.vectors,
            train.labels,
            validation_data=(validation.vectors, validation.labels)
            if len(validation.labels)
            else None,
            epochs=schedule.epochs,
            batch_size=schedule.batch_size,
            verbose=0,
            callbacks=[
                keras.callbacks.EarlyStopping(
                    monitor=judged_on, patience=schedule.patience, restore_best_weights=True
                ),
                keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: bar.update()),
            ],
        )
    return head, {name: [float(v) for v in values] for name, values in history.history.items()}
