"""Small NWB files in the layouts the C. elegans community publishes on DANDI, for the tests.

Written with pynwb and the community extension ndx-multichannel-volume (a test dependency): the
shapes of the Yemini-lab (000472), FOCO-lab SK2 (000565), Kimura-lab (000692) and Flavell-lab
(000776) conversions, as their public conversion code (NWBelegans NWB_convert.py, Yemini-Lab
nwb-build simpleio.py) and DANDI listings show them. Each builder plants known names on known
trace columns so that a test can check the right name lands on the right column.
"""
import importlib.util
import warnings
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
from pynwb import NWBHDF5IO, NWBFile, TimeSeries, get_class, get_type_map, load_namespaces
from pynwb.behavior import BehavioralTimeSeries
from pynwb.epoch import TimeIntervals
from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, PlaneSegmentation, RoiResponseSeries

EXTENSION = "ndx-multichannel-volume"
START = datetime(2023, 9, 18, 9, 54, tzinfo=timezone.utc)


def extension_types() -> dict:
    "The extension's classes, loaded from its installed spec (its package __init__ needs scikit-image)."
    if EXTENSION not in get_type_map().namespace_catalog.namespaces:
        spec = importlib.util.find_spec("ndx_multichannel_volume")
        folder = Path(list(spec.submodule_search_locations)[0]) / "spec"
        load_namespaces(str(folder / f"{EXTENSION}.namespace.yaml"))
    names = ["CElegansSubject", "ImagingVolume", "OpticalChannelPlus", "OpticalChannelReferences",
             "MultiChannelVolumeSeries", "SegmentationLabels"]
    return {n: get_class(n, EXTENSION) for n in names}


def _file(identifier: str, x: dict) -> NWBFile:
    nwb = NWBFile(session_description="NeuroPAL and whole-brain calcium imaging", identifier=identifier,
                  session_start_time=START, lab="test lab", institution="test institution")
    nwb.subject = x["CElegansSubject"](subject_id=identifier, species="http://purl.obolibrary.org/obo/NCBITaxon_6239",
                                       sex="O", growth_stage="YA", description="NeuroPAL worm", strain="OH16230")
    return nwb


def _volume(nwb, x: dict, name: str = "CalciumImVol"):
    "An ImagingVolume with one GCaMP channel, as the conversions make them."
    dev = nwb.devices.get("Spinning disk confocal") or nwb.create_device(name="Spinning disk confocal",
                                                                         description="confocal")
    chan = x["OpticalChannelPlus"](name="GFP-GCaMP", description="525/50", excitation_lambda=488.0,
                                   excitation_range=[486.5, 489.5], emission_range=[500.0, 550.0],
                                   emission_lambda=525.0)
    refs = x["OpticalChannelReferences"](name="order_optical_channels", channels=["488-525-50m"])
    vol = x["ImagingVolume"](name=name, optical_channel=[chan], order_optical_channels=refs, indicator="GCaMP6s",
                             excitation_lambda=488.0, description="head", device=dev, location="head",
                             grid_spacing=[0.3, 0.3, 1.5],
                             grid_spacing_unit="micrometers", origin_coords=[0, 0, 0],
                             origin_coords_unit="micrometers", reference_frame="worm head")
    nwb.add_imaging_plane(vol)
    return vol, dev


def _with_volumes(identifier: str, n_frames: int):
    "A file with its imaging volume and the raw volumes in acquisition: (extension types, file, volume, device)."
    x = extension_types()
    nwb = _file(identifier, x)
    vol, dev = _volume(nwb, x)
    nwb.add_acquisition(_raw_volumes(x, dev, vol, n_frames))
    return x, nwb, vol, dev


def _raw_volumes(x: dict, dev, vol, n_frames: int, name: str = "CalciumImageSeries"):
    "The raw imaging volumes (tiny here; tens of GB in the real files)."
    return x["MultiChannelVolumeSeries"](name=name, description="raw GCaMP volumes", comments="", device=dev,
                                         data=np.ones((n_frames, 6, 5, 4), np.uint16), unit="counts",
                                         scan_line_rate=100.0, dimension=[6, 5, 4], rate=4.0, resolution=1.0,
                                         imaging_volume=vol)


def _tables(vol, n_tables: int, n_rois: int, labels=None, index=True, prefix="Seg_tpoint_", first=0):
    "Per-frame segmentation tables (one voxel per ROI), optionally with an ID_labels column."
    tables = []
    for t in range(first, first + n_tables):
        table = PlaneSegmentation(name=f"{prefix}{t}", description=f"neurons at frame {t}", imaging_plane=vol)
        for i in range(n_rois):
            table.add_roi(voxel_mask=[(i, t % 5, 1, 1.0)])
        if labels is not None:
            data = [list(x) for x in labels] if index else list(labels)
            table.add_column(name="ID_labels", description="ROI ID labels", data=data, index=index)
        tables.append(table)
    return tables


def signature(n_frames: int, n_rois: int, scale: float = 1.0) -> np.ndarray:
    "Traces whose column j holds 1000 j + t: a value tells its column and frame."
    return scale * (1000.0 * np.arange(n_rois)[None, :] + np.arange(n_frames)[:, None])


def _stimuli(nwb, name: str, column: str, rows):
    table = TimeIntervals(name=name, description="chemical stimuli")
    table.add_column(name=column, description="which stimulus")
    for start, stop, label in rows:
        table.add_row(start_time=start, stop_time=stop, **{column: label})
    nwb.add_time_intervals(table)


def _write(nwb, path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb: "the linked table ... does not share an ancestor"
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return Path(path)


EY_LABELS = ["AVAL", "", "ASHR?", "AWCL", "RIML", ""]


def ey_file(path, n_frames: int = 20, n_tables: int = 8) -> Path:
    "Yemini lab (DANDI 000472): raw and dNMF series, per-frame tables without labels, NeuronIDs, chemical_stimuli."
    x, nwb, vol, dev = _with_volumes("20191030-worm3", n_frames)
    n = len(EY_LABELS)
    tables = _tables(vol, n_tables, n)
    dnmf = _tables(vol, n_tables, n, prefix="Seg_tpoint_")
    mod = nwb.create_processing_module(name="CalciumActivity", description="calcium activity")
    seg = mod.add(ImageSegmentation(name="CalciumSeriesSegmentation", plane_segmentations=tables))
    mod.add(ImageSegmentation(name="CalciumSeriesSegmentationdNMF", plane_segmentations=dnmf))
    region = tables[0].create_roi_table_region(description="neurons at frame 0", region=list(range(n)))
    data = signature(n_frames, n)
    mod.add(Fluorescence(name="SignalRawFluor", roi_response_series=RoiResponseSeries(
        name="SignalCalciumImResponseSeries", data=data, rois=region, unit="unitless", rate=4.0)))
    mod.add(Fluorescence(name="SignalRawFluordNMF", roi_response_series=RoiResponseSeries(
        name="dNMFCalciumImResponseSeries", data=data + 0.5, rois=region, unit="unitless", rate=4.0)))
    mod.add(x["SegmentationLabels"](name="NeuronIDs", labels=EY_LABELS, description="neuron labels",
                                    ImageSegmentation=seg))
    _stimuli(nwb, "chemical_stimuli", "stimulus", [(1.0, 2.0, "butanone"), (2.5, 3.0, "pentanedione"),
                                                    (4.0, 4.5, "nacl")])
    return _write(nwb, path)


SK2_LABELS = ["AVAR", "SMDVL?", "", "URYDL", "AIBL"]


def sk2_file(path, n_frames: int = 16, n_tables: int = 16, neuron_ids: bool = True) -> Path:
    "FOCO lab SK2 (DANDI 000565): per-frame tables whose ID_labels are stored as lists of characters, DfOverF."
    x = extension_types()
    nwb = _file("2022-04-26-w00-NP1", x)
    vol, _ = _volume(nwb, x)
    n = len(SK2_LABELS)
    tables = _tables(vol, n_tables, n, labels=SK2_LABELS, index=True)
    mod = nwb.create_processing_module(name="CalciumActivity", description="calcium activity")
    seg = mod.add(ImageSegmentation(name="CalciumSeriesSegmentation", plane_segmentations=tables))
    region = tables[0].create_roi_table_region(description="neurons at the first frame", region=list(range(n)))
    mod.add(DfOverF(name="SignalDFoF", roi_response_series=RoiResponseSeries(
        name="SignalCalciumImResponseSeries", data=signature(n_frames, n), rois=region, unit="Percentage", rate=3.3)))
    if neuron_ids:
        mod.add(x["SegmentationLabels"](name="NeuronIDs", labels=SK2_LABELS, description="labels",
                                        ImageSegmentation=seg))
    return _write(nwb, path)


FLAVELL_LABELS = ["AVAL", "", "NSML", "RIBR?", "", "AIBL", "SMDDR"]


def flavell_file(path, n_frames: int = 25) -> Path:
    "Flavell lab (DANDI 000776): one table of aligned coordinates, the series reachable twice, timestamps, behaviour."
    x = extension_types()
    nwb = _file("2022-06-14-01", x)
    vol, _ = _volume(nwb, x)
    n = len(FLAVELL_LABELS)
    coords = PlaneSegmentation(name="Aligned_neuron_coordinates", description="aligned space", imaging_plane=vol)
    for i in range(n):
        coords.add_roi(voxel_mask=[[i, 2 * i, 3, 1]])
    coords.add_column(name="ID_labels", description="Neuron Names", data=FLAVELL_LABELS, index=False)
    imseg = ImageSegmentation(name="CalciumSeriesSegmentation")
    imseg.add_plane_segmentation(coords)
    region = coords.create_roi_table_region(description="neurons", region=list(range(n)))
    stamps = 100.0 + 0.6 * np.arange(n_frames) + 0.01 * np.sin(np.arange(n_frames))
    signal = RoiResponseSeries(name="SignalCalciumImResponseSeries", description="raw", data=signature(n_frames, n),
                               rois=region, unit="lumens", timestamps=stamps)
    fluor = Fluorescence(name="SignalRawFluor", roi_response_series=signal)
    mod = nwb.create_processing_module(name="CalciumActivity", description="calcium")
    mod.add(imseg)
    mod.add(signal)  # reachable twice: here (written as a link) and in SignalRawFluor
    mod.add(fluor)
    mod.add(x["SegmentationLabels"](name="NeuronIDs", labels=FLAVELL_LABELS, description="labels",
                                    ImageSegmentation=imseg))
    beh = nwb.create_processing_module(name="Behavior", description="behaviour")
    bts = beh.add(BehavioralTimeSeries(name="BehavioralTimeSeries"))
    bts.add_timeseries(TimeSeries(name="velocity", data=np.linspace(-0.1, 0.2, n_frames), unit="mm/s",
                                  timestamps=stamps))
    bts.add_timeseries(TimeSeries(name="head_curvature", data=np.cos(np.arange(n_frames)), unit="rad",
                                  timestamps=stamps))
    bts.add_timeseries(TimeSeries(name="nir_frames", data=np.zeros(10 * n_frames), unit="n/a", rate=20.0))
    return _write(nwb, path)


KIMURA_LABELS = ["RIS", "", "AVAR", "ASEL", "", "AWBR?", "RMED", "SAADL"]
KIMURA_ROWS = [3, 0, 7, 1, 6, 2, 5, 4]  # the series' columns are these table rows


def kimura_file(path, n_frames: int = 18, neuropal_rois: int = 5) -> Path:
    "Kimura lab (DANDI 000692): a mask-volume segmentation, NeuronIDs linked to it, one unlabelled ROI table."
    x, nwb, vol, dev = _with_volumes("20230918-9-54-0", n_frames)
    n = len(KIMURA_LABELS)
    mod = nwb.create_processing_module(name="CalciumActivity", description="calcium and RFP")
    masks = mod.add(_raw_volumes(x, dev, vol, n_frames, name="CalciumSeriesSegmentation"))
    mod.add(x["SegmentationLabels"](name="NeuronIDs", labels=KIMURA_LABELS, description="IDs",
                                    MCVSeriesSegmentation=masks))
    (table,) = _tables(vol, 1, n, first=1)
    mod.add(ImageSegmentation(name="SegmentationVol1", plane_segmentations=[table]))
    region = table.create_roi_table_region(description="neurons at vol 1", region=KIMURA_ROWS)
    mod.add(Fluorescence(name="SignalRawFluor", roi_response_series=RoiResponseSeries(
        name="SignalCalciumImResponseSeries", data=signature(n_frames, n), rois=region, unit="a.u.", rate=1.0)))
    neuropal_vol, _ = _volume(nwb, x, name="NeuroPALImVol")
    np_table = PlaneSegmentation(name="NeuroPALNeurons", description="NeuroPAL image ROIs", imaging_plane=neuropal_vol)
    for i in range(neuropal_rois):
        np_table.add_roi(voxel_mask=[(i, 0, 0, 1.0)])
    np_table.add_column(name="ID_labels", description="ROI ID labels", index=True,
                        data=[list(f"ADA{i}") for i in range(neuropal_rois)])  # another table: never the traces' names
    neuropal = nwb.create_processing_module(name="NeuroPAL", description="NeuroPAL image segmentation")
    neuropal.add(ImageSegmentation(name="NeuroPALSegmentation", plane_segmentations=[np_table]))
    return _write(nwb, path)


def replicate_tables(path, group: str, first: str, n_total: int):
    "Copy one per-frame table until `group` holds `n_total` (fast: h5py copies, no pynwb objects)."
    import uuid
    with h5py.File(path, "r+") as f:
        g = f[group]
        for t in range(len(g), n_total):
            copy = f"Seg_tpoint_{t}"
            g.copy(g[first], copy)
            for obj in [g[copy], *(v for v in g[copy].values() if isinstance(v, h5py.Dataset))]:
                if "object_id" in obj.attrs:
                    obj.attrs["object_id"] = str(uuid.uuid4())
                if "target" in obj.attrs:  # a column index points at its column: at the copy's, not the original's
                    obj.attrs["target"] = g[copy][obj.name.rsplit("/", 1)[-1].removesuffix("_index")].ref
