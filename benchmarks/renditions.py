"""How fast cover copies are made: Kiji's renditions against the way they were made
before (each copy resized from the full picture, WebP at libwebp's method 4), on the
same covers in the same run, one CPU; then `make_renditions` on every CPU.

The covers are those of the realistic generated site (benchmarks/sitegen.py):
1024×576 JPEG and PNG, as on the real blog.

    .venv/bin/python benchmarks/renditions.py --covers 60
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def before(storage, name, folder):
    """The previous way, kept here as the reference: every copy from the full picture,
    WebP method 4."""
    from PIL import Image

    from posts import renditions

    with storage.open(name, "rb") as source, Image.open(source) as image:
        width, height = image.size
        fallback_format = renditions.FALLBACK_FORMATS.get(image.format, "JPEG")
        picture, options = renditions._prepare(image, 1, width, width)
        sizes = {}
        for w in renditions.rendition_widths(width):
            for image_format in ("WEBP", fallback_format):
                if image_format == fallback_format and w == width:
                    continue  # the original is its own fallback
                copy = picture if w == width else picture.resize(
                    (w, max(1, round(height * w / width))), Image.Resampling.LANCZOS, reducing_gap=3.0
                )
                buffer = BytesIO()
                save = {"quality": 80, "method": 4} if image_format == "WEBP" else renditions.SAVE_OPTIONS[image_format]
                copy.save(buffer, format=image_format, **save, **options)
                sizes[(w, image_format)] = len(buffer.getvalue())
    return sizes


def now_sizes(storage, made):
    return {(w, name.rsplit(".", 1)[1].upper()): storage.size(name) for key in ("webp", "fallback") for name, w in made[key] if name.startswith("renditions/")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--covers", type=int, default=60, help="Covers to time (default 60).")
    options = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="kiji-renditions-"))
    try:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="tests.server_settings",
            DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
            MEDIA_ROOT=str(work / "media"),
            DEBUG="0",
            CACHE_URL="locmem://",
        )
        import django

        django.setup()
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage

        from benchmarks.sitegen import generate_site
        from posts import renditions

        manifest = generate_site(work / "site", max(options.covers * 2, 50), hostile=False)
        covers = [spec.cover_ref for spec in manifest.valid() if spec.cover == "local"][: options.covers]
        names = []
        for ref in covers:
            data = (work / "site" / "static" / ref.lstrip("/")).read_bytes()
            names.append(default_storage.save(f"covers/{Path(ref).name}", ContentFile(data)))

        timings = {"before": [], "now": []}
        sizes = {"before": 0, "now": 0}
        for name in names:  # alternating, so that noise hits both alike
            start = cpu()
            sizes["before"] += sum(before(default_storage, name, "").values())
            timings["before"].append(cpu() - start)
            start = cpu()
            made = renditions.make(name, default_storage)
            timings["now"].append(cpu() - start)
            sizes["now"] += sum(now_sizes(default_storage, made).values())
            shutil.rmtree(work / "media" / "renditions", ignore_errors=True)

        print(f"cover copies of {len(names)} covers (1024×576 JPEG/PNG), one CPU, CPU ms per cover:")
        for label in ("before", "now"):
            values = [seconds * 1000 for seconds in timings[label]]
            print(f"  {label:<7} median {statistics.median(values):7.1f}   mean {statistics.mean(values):7.1f}   bytes {sizes[label] / len(names) / 1024:7.1f} KiB a cover")
        ratio = statistics.median(timings["before"]) / statistics.median(timings["now"])
        print(f"  now is {ratio:.2f}× as fast per cover; its copies are {sizes['now'] / sizes['before']:.2f}× the bytes")

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)
        script = "from posts.models import Post\n" + "".join(
            f"Post.objects.create(title='c{number}', slug='c{number}', status='published', cover={name!r}, cover_width=1024, cover_height=576)\n"
            for number, name in enumerate(names)
        )
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", script], env=env, check=True)
        shutil.rmtree(work / "media" / "renditions", ignore_errors=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "make_renditions"], env=env, check=True)
        wall = time.perf_counter() - started
        print(f"make_renditions, every CPU ({os.cpu_count()}): {wall:.1f} s for {len(names)} covers, {wall / len(names) * 1000:.0f} ms a cover (wall)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
