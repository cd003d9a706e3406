"""The models: ``brain models`` (list, pull, bench), ``brain train`` and ``brain export``."""

from __future__ import annotations

from pathlib import Path

import click

from brain._errors import FatalError
from brain._plugins import MODEL_GROUP, PluginError
from brain.cli._group import main
from brain.cli._options import SharedOptions, shared, shared_options, user_errors, with_shared
from brain.cli._progress import saying


@main.group(invoke_without_command=True)
@shared_options
@click.pass_context
def models(ctx: click.Context) -> None:
    """The models, where their weights are, and whether each can run now."""
    if ctx.invoked_subcommand is not None:
        return
    catalog = shared().catalog()
    for name in catalog.names(MODEL_GROUP):
        try:
            ready, where = catalog.model(name).availability()
        except PluginError as error:
            ready, where = False, str(error)
        click.echo(f"  {name:<14} {'ready' if ready else 'not ready':<10} {where}")


@models.command()
@click.argument("name")
@with_shared
def pull(options: SharedOptions, name: str) -> None:
    """Download the weights of model NAME into its cache, where there is network."""
    with user_errors():
        model = options.catalog().model(name)
        try:
            click.echo(model.pull())
        except FatalError as error:
            raise click.ClickException(str(error)) from None


@models.command("bench")
@click.argument("name", default="inception")
@with_shared
def bench_models(options: SharedOptions, name: str) -> None:
    """Images/s and latency of model NAME (or a bundle's path) on each engine and precision."""
    from brain.cortex import BENCH_HEADER, Cortex, bench

    settings = options.settings()
    with user_errors():
        cortex = settings.options_for("cortex", Cortex.Options).model_copy(update={"model": name})
        click.echo(f"{name} on this machine (cortex.weights and the other cortex options apply):")
        click.echo(BENCH_HEADER)
        for row in bench(cortex, options.catalog()):  # type: ignore[arg-type]
            click.echo(str(row))


@main.command("train")
@click.argument("images", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The bundle folder to write."
)
@click.option(
    "--base",
    default="inception_v3",
    show_default=True,
    help="The frozen network: inception_v3, or mobilenet_v2 for small machines.",
)
@click.option(
    "--base-weights",
    type=click.Path(path_type=Path),
    help="The base's ImageNet weights (.h5) [default: the Keras cache, else a download].",
)
@click.option("--validation", default=10.0, show_default=True, type=click.FloatRange(0, 45))
@click.option("--test", default=10.0, show_default=True, type=click.FloatRange(0, 45))
@click.option(
    "--augment",
    default=0,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Augmented copies (flip, crop, brightness) of each training image.",
)
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--patience",
    default=5,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Epochs without a better validation loss before stopping.",
)
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    help="Bottleneck cache [default: ~/.local/state/brain/bottlenecks].",
)
def train_command(
    images: Path,
    out: Path,
    base: str,
    base_weights: Path | None,
    validation: float,
    test: float,
    augment: int,
    epochs: int,
    patience: int,
    cache: Path | None,
) -> None:
    """Train a new last layer on IMAGES (one sub-folder a class) and write a bundle."""
    from brain.train import Schedule, TrainOptions, train

    options = TrainOptions(
        images=images,
        out=out,
        base=base,
        base_weights=base_weights,
        validation=validation,
        test=test,
        augment=augment,
        schedule=Schedule(epochs=epochs, patience=patience),
        **({"cache": cache} if cache else {}),
    )
    with user_errors():
        report = train(options)
    click.echo(report.summary())
    click.echo(f"bundle written to {out}; serve it with: brain run cortex --set cortex.model={out}")


@main.command("export")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The TFLite bundle to write."
)
@click.option(
    "--quantize",
    type=click.Choice(["none", "dynamic", "float16", "int8"]),
    default="none",
    show_default=True,
    help="int8 is calibrated on the bundle's training images.",
)
@click.option(
    "--calibration",
    type=click.Path(path_type=Path),
    help="Images to calibrate int8 on [default: the folder the bundle was trained on].",
)
def export_command(bundle: Path, out: Path, quantize: str, calibration: Path | None) -> None:
    """Write BUNDLE as a TFLite bundle, which a cortex serves without TensorFlow."""
    from brain.train import export

    how = "" if quantize == "none" else f", quantized to {quantize} (calibrated on its images)"
    with user_errors(), saying(f"exporting {bundle} to TFLite{how}", about_s=60):
        model = export(bundle, out=out, quantize=quantize, calibration=calibration)  # type: ignore[arg-type]
    before = (bundle / "model.keras").stat().st_size
    click.echo(
        f"{model}: {model.stat().st_size / 1e6:.1f} MB ({model.stat().st_size / before:.0%} of "
        f"the Keras model); serve it with: brain run cortex --set cortex.model={out}"
    )
