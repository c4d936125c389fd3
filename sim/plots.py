"""Every figure memgen draws (the demo's and the benches'), on matplotlib's Agg backend."""

import numpy as np

__all__ = ["draw_cat", "draw_histogram", "plot_recall", "plot_training", "pyplot"]


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def mosaic(tiles, rows, columns, gap=1):
    """Tiles laid out row by row with a white ``gap`` between them."""
    tile = tiles.shape[1]
    step = tile + gap
    image = np.full((rows * step - gap, columns * step - gap, 3), 255, dtype=np.uint8)
    for number, picture in enumerate(tiles[: rows * columns]):
        r, c = divmod(number, columns)
        image[r * step : r * step + tile, c * step : c * step + tile] = picture
    return image


def draw_cat(cat, path):
    plt = pyplot()

    tile = cat["tiles"].shape[1]
    sampled = np.frombuffer(b"".join(cat["sampled"]), dtype=np.uint8).reshape(-1, tile, tile, 3)
    rows = min(cat["rows"], -(-len(sampled) // cat["columns"]))
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    for axis, tiles, title in (
        (axes[0], cat["tiles"], f"training: {len(cat['tiles'])} tiles of {tile}x{tile}, in order"),
        (axes[1], sampled, f"{len(sampled)} samples from the memory, in the order drawn"),
    ):
        axis.imshow(mosaic(tiles, rows, cat["columns"]))
        axis.set_title(title)
        axis.axis("off")
    figure.suptitle("memgen: skimage.data.chelsea() learnt by heart, then sampled")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_histogram(counts, band, outside, path):
    """The demo's bar chart of how often each Zen line was drawn, against the 99 % band."""
    plt = pyplot()
    low, high = band
    bins, samples = len(counts), int(counts.sum())
    figure, axis = plt.subplots(figsize=(8, 4), layout="constrained")
    axis.axhspan(
        low, high, color="tab:green", alpha=0.2, label=f"99% band per line [{low}, {high}]"
    )
    axis.axhline(samples / bins, color="tab:green", label=f"expected {samples / bins:g}")
    axis.bar(range(bins), counts, color="tab:blue", label="sampled")
    axis.set_xticks(range(bins))
    axis.set_xlabel("record index (line of the Zen of Python)")
    axis.set_ylabel("times sampled")
    axis.set_title(f"{samples:,} samples of {bins} records: {outside} outside the band")
    axis.set_ylim(0, high * 1.3)
    axis.legend(loc="upper center", ncols=3)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_recall(report, path):
    """The recall bench's four panels: exact retrieval against N and against noise."""
    plt = pyplot()
    experiments = report["experiments"]
    panels = (
        ("random_vs_patterns", "patterns", "random patterns, 10% flipped", True),
        ("cat_vs_patterns", "patterns", "binarised cat tiles, 10% flipped", True),
        ("random_vs_flips", "fraction", "16 random patterns: flipped bits", False),
        ("random_vs_masked", "fraction", "16 random patterns: unknown bits", False),
    )
    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5), layout="constrained")
    for axis, (key, x, title, log) in zip(axes.flat, panels, strict=True):
        rows = experiments[key]
        for name in [k for k in rows[0] if k not in (x,)]:
            style = "k-o" if name == "memgen" else "--."
            axis.plot([r[x] for r in rows], [r[name] for r in rows], style, label=name)
        if log:
            axis.set_xscale("log", base=2)
            axis.axvline(0.14 * report["bits"], color="grey", lw=0.8, ls=":")
        axis.set_title(title)
        axis.set_xlabel("patterns stored (N)" if log else "fraction of the 256 bits")
        axis.set_ylabel("exact retrieval")
        axis.set_ylim(-0.03, 1.03)
    axes.flat[0].legend(fontsize="small")
    figure.suptitle(f"Recall of 256-bit patterns, {report['trials']} queries per point")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_training(table, path):
    """Training time against dataset size: the core at each board clock and the CPU."""
    plt = pyplot()

    rows = table["rows"]
    counts = [row["records"] for row in rows]
    figure, axis = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for name in rows[0]["hardware_seconds"]:
        seconds = [row["hardware_seconds"][name] for row in rows]
        (line,) = axis.plot(counts, seconds, "-", label=f"memgen core at the {name} clock")
        for row, value in zip(rows, seconds, strict=True):
            axis.plot(
                row["records"],
                value,
                "o",
                color=line.get_color(),
                markerfacecolor=line.get_color() if row["measured"] else "white",
            )
    for name, style in (("python", "s--"), ("numpy", "^--"), ("reference", "d--")):
        axis.plot(counts, [row["cpu_seconds"][name] for row in rows], style, label=f"CPU {name}")
    axis.plot([], [], "ko", markerfacecolor="white", label="hollow: measured clocks/record x N")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("records trained (1 byte each)")
    axis.set_ylabel("seconds")
    axis.set_title("Training time against dataset size (1-byte records)")
    axis.legend(fontsize="small")
    axis.grid(True, which="major", alpha=0.3)
    figure.savefig(path, dpi=110)
    plt.close(figure)
