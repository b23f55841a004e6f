"""The Speed and Reproduce pages read every benchmark record as findings and tables."""
from __future__ import annotations

import pytest

from ceimb_utils.report import records


@pytest.mark.parametrize("name", sorted(records.FINDINGS))
def test_each_committed_record_reads_as_a_finding_without_gaps(name):
    if records.read(name) is None:  # book_time.json is written by a timed fresh clone, on demand
        assert records.finding(name)[0] == records.missing(name)
        return
    text, table = records.finding(name)
    assert "does not hold what this page reads" not in text
    assert "nan" not in text.lower().replace("nanosecond", "")
    if table is not None:
        cells = table.astype(str)
        assert not cells.apply(lambda c: c.str.contains(r"^\{|^nan$|^None$")).any().any(), table


def test_book_time_states_the_median_of_fresh_clones_after_the_set_up():
    steps = [("setup", 60), ("data", 3), ("runs-quick", 700), ("html", 40)]
    rows = [{"command": "make book", "step": s, "seconds": v + (extra if s == "runs-quick" else 0), "run": run,
             "backend": "AVX2"}
            for run, extra in ((1, 0), (2, 120), (3, 30)) for s, v in steps]
    record = records.Record("book_time", "c", "m", "x", "abc", {"rows": rows + [
        {"command": "make test", "step": "CI", "seconds": 480.0, "run": None, "backend": "AVX2"}]})
    text, table = records.book_time(record)
    # books after the set-up: 743, 863 and 773 s; their median 773 s is 12.9 minutes
    assert "took 12.9 minutes after `make setup` (the median of 3 fresh clones: 12.4 minutes, 14.4 minutes, " \
           "12.9 minutes)" in text
    assert "the set-up took 1.0 minutes more" in text and "`make test` from a fresh clone took 8.0 minutes" in text
    assert list(table["run"]).count(2) == len(steps)


def test_the_analysis_speed_page_states_each_ratio_and_the_sweeps_per_method_medians():
    rows = [{"dataset": "coil_2000", "model": "svm", "method": "base", "D": 1833, "fit_s": 0.61, "analysis_s": 1.6,
             "analysis_over_fit": 2.63, "steps_s": {"frequency": 0.9, "readings": 0.1}},
            {"dataset": "fashion-lt", "model": "resnet8", "method": "base", "D": 64, "fit_s": 144.131,
             "analysis_s": 0.528, "analysis_over_fit": 0.004, "steps_s": {"frequency": 0.1}},
            {"sweep": "python -m ceimb_utils run --profile paper --datasets coil_2000 --no-notebooks",
             "datasets": ["coil_2000"], "runs": 55, "wall_s": 105.9, "fit_s_total": 83.1, "extract_s_total": 18.1,
             "analysis_s_total": 62.5, "svm_analysis_over_fit": {"base": {"median": 2.352, "max": 2.568},
                                                                 "smote": {"median": 0.901, "max": 0.942}}}]
    text, table = records.analysis_speed(records.Record("analysis_speed", "", "", "", "", {"rows": rows}))
    assert "coil_2000 svm base (D = 1,833) 2.62 times its fit" in text and "its largest step, frequency" in text
    # from the seconds the sentence gives, not the record's ratio rounded to three decimals (0.004)
    assert "fashion-lt resnet8 base (D = 64) 0.0037 times its fit (0.53 s against 144.1 s)" in text
    assert "median (largest) per method: base 2.35 (2.57), smote 0.90 (0.94). The analysis takes longer than the " \
           "fit in the median run of base." in text
    assert "no longer than the fit in 1 of the 2 timed runs; it takes longer in coil_2000 svm base." in text
    within = [r for r in rows if r.get("analysis_over_fit", 2) < 1]
    text, _ = records.analysis_speed(records.Record("analysis_speed", "", "", "", "", {"rows": within}))
    assert "no longer than the fit in every timed run." in text and "takes longer" not in text
    ratio = table.set_index("step (seconds)").loc["analysis / fit"]
    assert ratio["fashion-lt resnet8 base"] == pytest.approx(0.004)  # not rounded away to 0.0


def test_the_analysis_speed_page_sets_the_runs_with_numpys_avx2_kernels_apart():
    def run(method, fit, analysis, off):
        return {"dataset": "coil_2000", "model": "svm", "method": method, "D": 1833, "fit_s": fit,
                "analysis_s": analysis, "analysis_over_fit": round(analysis / fit, 3),
                "steps_s": {"frequency interval": analysis / 3}, "numpy_disabled": off}
    flags = "X86_V4 AVX512_ICL AVX512_SPR"
    rows = [{"probe": "np.sort of 2,000 rows of 1,833 float64", "cpu": "AMD EPYC", "sort_s": 0.2, "numpy_disabled": ""},
            run("base", 0.6, 1.2, ""), run("smote", 3.6, 2.7, ""),
            {"probe": "np.sort of 2,000 rows of 1,833 float64", "cpu": "AMD EPYC", "sort_s": 0.05, "numpy_disabled": flags},
            run("base", 0.6, 0.9, flags), run("smote", 3.6, 2.2, flags)]
    rows += [{"sweep": "python -m ceimb_utils run --profile paper --datasets coil_2000 --no-notebooks",
              "datasets": ["coil_2000"], "runs": 55, "wall_s": wall, "fit_s_total": 83.1, "extract_s_total": 18.1,
              "analysis_s_total": 62.5, "numpy_disabled": off} for wall, off in ((105.0, ""), (96.0, flags))]
    text, table = records.analysis_speed(records.Record("analysis_speed", "", "", "", "", {"rows": rows}))
    default, variant = text.split("With numpy's AVX2 kernels")
    # the verdict on the goal counts the default kernels' runs only
    assert "no longer than the fit in 1 of the 2 timed runs; it takes longer in coil_2000 svm base." in default
    assert "coil_2000 svm base (D = 1,833) 2.00 times its fit (1.20 s against 0.60 s" in default
    assert f'(`NPY_DISABLE_CPU_FEATURES="{flags}"` before Python starts' in variant
    assert "coil_2000 svm base (D = 1,833) 1.50 times its fit (0.90 s against 0.60 s" in variant
    assert "`python -m ceimb_utils run --profile paper --datasets coil_2000 --no-notebooks` ran 55 runs in " \
        "1.8 minutes" in default and "The same sweep ran 55 runs in 1.6 minutes" in variant
    assert text.count("were not on the machine") == 1
    assert "NumPy's row sort alone (np.sort of 2,000 rows of 1,833 float64) took 0.200 s with numpy's default " \
        "kernels and 0.050 s with its AVX2 kernels on this CPU (AMD EPYC)." in variant
    assert list(table.columns) == ["step (seconds)", "coil_2000 svm base", "coil_2000 svm smote",
                                   "coil_2000 svm base (numpy AVX2)", "coil_2000 svm smote (numpy AVX2)"]
    alone = [r for r in rows if r["numpy_disabled"]]  # a user's record, measured with the variable set throughout
    text, table = records.analysis_speed(records.Record("analysis_speed", "", "", "", "", {"rows": alone}))
    assert "coil_2000 svm base (D = 1,833) 1.50 times its fit" in text and "With numpy's AVX2 kernels" not in text
    assert text.endswith(f'Every figure was measured with `NPY_DISABLE_CPU_FEATURES="{flags}"`.')
    assert list(table.columns) == ["step (seconds)", "coil_2000 svm base", "coil_2000 svm smote"]


def test_the_analysis_speed_page_states_the_kernels_and_the_first_analysis_apart():
    run = {"dataset": "coil_2000", "model": "svm", "method": "base", "D": 1833, "fit_s": 0.6, "analysis_s": 0.5,
           "first_analysis_s": 0.75, "steps_s": {"frequency interval": 0.2}, "numpy_disabled": ""}
    kernels = {"kernels": "numba 0.68.1", "first_use_s": 0.41, "numpy_disabled": ""}
    text, _ = records.analysis_speed(records.Record("analysis_speed", "", "", "", "", {"rows": [kernels, run]}))
    assert "coil_2000 svm base (D = 1,833) 0.83 times its fit (0.50 s against 0.60 s)" in text
    assert "no longer than the fit in every timed run" in text
    assert "The first analysis, which also pays what a process pays once" in text and "against the fit: coil_2000 svm base 1.25." in text
    assert "compiled kernels (numba 0.68.1); importing numba and loading them took 0.41 s once" in text
    close = {**run, "analysis_s": 0.618}  # 1.03: two decimals, so it cannot read 1.0 beside "takes longer"
    text, _ = records.analysis_speed(records.Record("analysis_speed", "", "", "", "", {"rows": [kernels, close]}))
    assert "base (D = 1,833) 1.03 times its fit" in text and "it takes longer in coil_2000 svm base" in text
    without = {"kernels": "none (numpy sorts)", "first_use_s": 0.0, "numpy_disabled": ""}
    text, _ = records.analysis_speed(records.Record("analysis_speed", "", "", "", "", {"rows": [without, run]}))
    assert "without its compiled kernels (numba not installed): numpy sorted every row" in text


def test_a_record_names_the_cpu_it_ran_on_not_a_back_end_a_page_contradicts():
    """The Speed page's clones ran under AVX2; the record's process saw an AVX-512 CPU. The page
    says what the CPU offers, so the two do not read as a contradiction."""
    from ceimb_utils.report import records

    assert records.machine_words("x86_64, 2 threads, torch CPU capability AVX512") == (
        "an x86_64 machine, 2 threads, whose CPU offers torch's AVX512 kernels")
    assert records.machine_words("x86_64, 1 thread, torch CPU capability AVX2").endswith("1 thread, whose CPU offers "
                                                                                         "torch's AVX2 kernels")
    assert records.machine_words("something else") == "something else"
