"""Maps the repository's top-level folders onto the one `promoflow` import namespace.

The folders are the project's architecture (rules/, workflow/, engine/, scheduler/,
console/); installed, they become promoflow.rules, promoflow.workflow, and so on, never
top-level modules in site-packages.
"""

from setuptools import find_packages, setup

FOLDERS = ("rules", "workflow", "engine", "scheduler", "console", "demo")

packages = ["promoflow"]
package_dir = {"promoflow": "src/promoflow"}
for folder in FOLDERS:
    packages.append(f"promoflow.{folder}")
    package_dir[f"promoflow.{folder}"] = folder
    packages += [f"promoflow.{folder}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=package_dir)
