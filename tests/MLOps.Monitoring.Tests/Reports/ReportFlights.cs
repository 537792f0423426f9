using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using MLOps.Monitoring.Applications;
using MLOps.Monitoring.Drift;
using MLOps.Monitoring.Reports;

namespace MLOps.Monitoring.Tests.Reports;

/// <summary>A row of the real flights (data/flights-20k.json, January to March 2001, in time order).</summary>
public sealed record FlightRow(DateTimeOffset Date, double Delay, double Distance, string Origin, string Destination);

/// <summary>The real flights for the report tests, and the report they give: reference = the first half (January to mid
/// February), current = the second half with distance x 1.5.</summary>
public static class ReportFlights
{
    private static readonly Lazy<IReadOnlyList<FlightRow>> Rows = new(Read);

    /// <summary>The 20,000 flights, in time order.</summary>
    public static IReadOnlyList<FlightRow> Load() => Rows.Value;

    /// <summary>The status rule the tests and the docs example use: PSI on the reference bins, >= 0.25 detected, >= 0.1 possible.</summary>
    public static ResultStatus ByPsi(double psi) => double.IsNaN(psi) ? ResultStatus.InsufficientData
        : psi >= 0.25 ? ResultStatus.Detected : psi >= 0.1 ? ResultStatus.Possible : ResultStatus.None;

    /// <summary>The report of the shifted second half against the first half: delay and distance (numeric), origin and destination (categorical).</summary>
    public static (DriftReport Report, NumericReference Distance, NumericDriftResult DistanceResult) ShiftedReport(int topCategories = DriftReport.DefaultTopCategories)
    {
        var flights = Load();
        var reference = flights.Take(10_000).ToList();
        var current = flights.Skip(10_000).Select(f => f with { Distance = f.Distance * 1.5 }).ToList();
        var report = new DriftReport("Drift of delay:1 (distance x 1.5)", "delay:1", current[0].Date, current[^1].Date, ResultStatus.Detected) { TopCategories = topCategories };
        NumericReference? distance = null;
        NumericDriftResult? distanceResult = null;
        foreach (var (name, select) in new (string, Func<FlightRow, double>)[] { ("delay", f => f.Delay), ("distance", f => f.Distance) })
        {
            var r = NumericReference.Create(name, reference.Select(select).ToArray());
            var result = DriftMetrics.Compare(r, current.Select(select).ToArray(), sampleTests: true);
            report.AddNumeric(r, result, ByPsi(result.PopulationStability), $"PSI {result.PopulationStability:F3} (possible >= 0.1, detected >= 0.25)");
            if (name == "distance") (distance, distanceResult) = (r, result);
        }
        foreach (var (name, select) in new (string, Func<FlightRow, string?>)[] { ("origin", f => f.Origin), ("destination", f => f.Destination) })
        {
            var r = CategoricalReference.Create(name, reference.Select(select).ToArray());
            string?[] values = current.Select(select).ToArray();
            var result = DriftMetrics.Compare(r, values);
            report.AddCategorical(r, result, values, ByPsi(result.PopulationStability), $"PSI {result.PopulationStability:F3}");
        }
        return (report, distance!, distanceResult!);
    }

    /// <summary>Parses a page as XML (after the doctype), as a strict well-formedness check.</summary>
    public static XDocument Parse(string html)
    {
        Assert.That(html, Does.StartWith("<!DOCTYPE html>\n"));
        return XDocument.Parse(html["<!DOCTYPE html>\n".Length..]);
    }

    /// <summary>The elements of a local name, in any namespace (SVG elements are in the SVG namespace).</summary>
    public static IEnumerable<XElement> All(this XContainer node, string localName) => node.Descendants().Where(e => e.Name.LocalName == localName);

    /// <summary>The value of an attribute as a number.</summary>
    public static double Number(this XElement element, string attribute) => double.Parse(element.Attribute(attribute)!.Value, CultureInfo.InvariantCulture);

    /// <summary>Whether an element's class attribute holds a class.</summary>
    public static bool HasClass(this XElement element, string cssClass) => (element.Attribute("class")?.Value ?? "").Split(' ').Contains(cssClass);

    private static IReadOnlyList<FlightRow> Read()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "flights-20k.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().Select(e => new FlightRow(
            new DateTimeOffset(DateTime.ParseExact(e.GetProperty("date").GetString()!, "yyyy/MM/dd HH:mm", CultureInfo.InvariantCulture), TimeSpan.Zero),
            e.GetProperty("delay").GetDouble(), e.GetProperty("distance").GetDouble(),
            e.GetProperty("origin").GetString()!, e.GetProperty("destination").GetString()!)).ToList();
    }
}
