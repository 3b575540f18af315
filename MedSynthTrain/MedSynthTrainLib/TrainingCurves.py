"""A training run's curves in Slicer's plot view: ``history.csv`` -> a table node -> plot series -> charts.

Two charts, because losses and validation PSNR live on different scales: every loss the objective logs per
epoch (log scale: the generator and discriminator totals and their terms, such as CycleGAN's cycle and
identity losses), and validation PSNR inside the head mask.
Calling ``updateCurves`` again with a longer history updates the same nodes, so the plot grows live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import slicer
import vtk

LOSS_PREFIX = "loss_"
METRIC_COLUMNS = ("val_psnr",)
COLORS = {"loss_G": (0.85, 0.37, 0.0), "loss_D": (0.0, 0.45, 0.7), "val_psnr": (0.0, 0.62, 0.45)}
TERM_COLORS = ((0.8, 0.47, 0.65), (0.94, 0.89, 0.26), (0.34, 0.71, 0.91), (0.6, 0.6, 0.6), (0.55, 0.34, 0.29),
               (0.09, 0.75, 0.81), (0.58, 0.4, 0.74), (0.74, 0.74, 0.13))  # the loss terms, in the order logged


@dataclass
class CurveNodes:
    table: Any
    lossChart: Any
    metricChart: Any


def fillTable(tableNode, history: list[dict[str, Any]]) -> list[str]:
    """One row per epoch and one numeric column per logged value (empty cells are NaN)."""
    columns = list(dict.fromkeys(key for row in history for key in row))
    table = vtk.vtkTable()
    for name in columns:
        array = vtk.vtkDoubleArray()
        array.SetName(name)
        array.SetNumberOfValues(len(history))
        for index, row in enumerate(history):
            value = row.get(name)
            array.SetValue(index, float(value) if value not in (None, "") else math.nan)
        table.AddColumn(array)
    tableNode.SetAndObserveTable(table)
    return columns


def _chart(scene, chartNode, name: str, title: str, yTitle: str, logScale: bool):
    if chartNode is None:
        chartNode = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", name)
    chartNode.SetTitle(title)
    chartNode.SetXAxisTitle("epoch")
    chartNode.SetYAxisTitle(yTitle)
    chartNode.SetYAxisLogScale(logScale)
    return chartNode


def _series(scene, chartNode, tableNode, column: str, color: tuple[float, float, float]):
    """The chart's series for ``column``, created on first use."""
    for index in range(chartNode.GetNumberOfPlotSeriesNodes()):
        series = chartNode.GetNthPlotSeriesNode(index)
        if series.GetYColumnName() == column:
            return series
    series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{tableNode.GetName()} {column}")
    series.SetAndObserveTableNodeID(tableNode.GetID())
    series.SetXColumnName("epoch")
    series.SetYColumnName(column)
    series.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeScatter)
    series.SetMarkerStyle(slicer.vtkMRMLPlotSeriesNode.MarkerStyleCircle)
    series.SetColor(*color)
    chartNode.AddAndObservePlotSeriesNodeID(series.GetID())
    return series


def updateCurves(history: list[dict[str, Any]], nodes: CurveNodes | None = None, scene=None,
                 name: str = "MedSynthTrain") -> CurveNodes:
    """Show ``history`` (rows of ``history.csv``) in the table and charts of ``nodes`` (created if None)."""
    scene = scene or slicer.mrmlScene
    if nodes is None:
        nodes = CurveNodes(scene.AddNewNodeByClass("vtkMRMLTableNode", f"{name} history"), None, None)
    nodes.lossChart = _chart(scene, nodes.lossChart, f"{name} losses", "Training losses", "loss", True)
    nodes.metricChart = _chart(scene, nodes.metricChart, f"{name} validation", "Validation PSNR (head mask)",
                               "PSNR (dB)", False)
    columns = fillTable(nodes.table, history)
    terms = [c for c in columns if c.startswith(LOSS_PREFIX) and c not in COLORS]
    for column in columns:
        if column.startswith(LOSS_PREFIX):
            color = COLORS.get(column) or TERM_COLORS[terms.index(column) % len(TERM_COLORS)]
            _series(scene, nodes.lossChart, nodes.table, column, color)
        elif column in METRIC_COLUMNS:
            _series(scene, nodes.metricChart, nodes.table, column, COLORS[column])
    return nodes
