using MLOps.Serving.Protocol;
using static MLOps.Serving.Tests.Protocol.ProtocolJson;

namespace MLOps.Serving.Tests.Protocol;

public class RowsRequestTests
{
    [Test]
    public void ParseRequest_RowsAsLists_ReadsPositionalValues()
    {
        var request = Parse("""{"id": "r", "inputs": [[1, 2.5, "SFO", true, null], [2, -1, "LAS", false, 3]]}""");

        var rows = request.Rows!;
        Assert.Multiple(() =>
        {
            Assert.That(request.HasRows, Is.True);
            Assert.That(request.Inputs, Is.Empty);
            Assert.That(request.Id, Is.EqualTo("r"));
            Assert.That(rows.Format, Is.EqualTo(RowsFormat.Lists));
            Assert.That(rows.Count, Is.EqualTo(2));
            Assert.That(rows.Rows[0].IsKeyed, Is.False);
            Assert.That(rows.Rows[0].Values, Is.EqualTo(new[]
            {
                RowValue.FromNumber(1), RowValue.FromNumber(2.5), RowValue.FromString("SFO"), RowValue.FromBoolean(true), RowValue.Null,
            }));
            Assert.That(rows.Rows[1][2].String, Is.EqualTo("LAS"));
        });
    }

    [Test]
    public void ParseRequest_RowsAsObjects_ReadsValuesByFeatureName()
    {
        var request = Parse("""{"inputs": [{"distance": 1750, "origin": "DTW"}, {"origin": "HNL", "distance": 2399, "hour": 1}]}""");

        var rows = request.Rows!;
        Assert.Multiple(() =>
        {
            Assert.That(rows.Format, Is.EqualTo(RowsFormat.Objects));
            Assert.That(rows.Rows[0].IsKeyed, Is.True);
            Assert.That(rows.Rows[0].TryGetValue("distance", out var d) ? d.Number : -1, Is.EqualTo(1750));
            Assert.That(rows.Rows[1].TryGetValue("origin", out var o) ? o.String : null, Is.EqualTo("HNL"));
            Assert.That(rows.Rows[0].TryGetValue("hour", out _), Is.False);
            Assert.That(rows.Rows[1].Names, Is.EqualTo(new[] { "origin", "distance", "hour" }));
            Assert.That(rows.Rows[1].ToDictionary()["hour"].Number, Is.EqualTo(1));
        });
    }

    [Test]
    public void ParseRequest_RowsAsObjectsWithSameKeys_ShareTheNameArray()
    {
        var rows = Parse("""{"inputs": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": "z"}]}""").Rows!;

        Assert.That(rows.Rows[2].Names, Is.SameAs(rows.Rows[0].Names));
    }

    [Test]
    public void ParseRequest_ObjectWithAFeatureCalledName_IsARowNotATensor()
    {
        var request = Parse("""{"inputs": [{"name": "Ann", "age": 3}]}""");

        Assert.That(request.Rows!.Rows[0].TryGetValue("name", out var name) ? name.String : null, Is.EqualTo("Ann"));
    }

    [Test]
    public void ParseRequest_TensorThenRow_Throws400()
    {
        string message = Fails("""{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}, [1, 2]]}""");

        Assert.That(message, Does.Contain("inputs[1]").And.Contain("tensor"));
    }

    [Test]
    public void ParseRequest_ListRowThenObjectRow_Throws400()
    {
        string message = Fails("""{"inputs": [[1, 2], {"a": 1}]}""");

        Assert.That(message, Does.Contain("inputs[1]").And.Contain("a list"));
    }

    [Test]
    public void ParseRequest_NestedValueInRow_Throws400NamingTheCell()
    {
        string message = Fails("""{"inputs": [[1, 2], [3, [4]]]}""");

        Assert.That(message, Does.Contain("inputs[1][1]").And.Contain("an array"));
    }

    [Test]
    public void ParseRequest_ObjectValueInKeyedRow_Throws400NamingTheFeature()
    {
        string message = Fails("""{"inputs": [{"a": 1, "b": {"c": 2}}]}""");

        Assert.That(message, Does.Contain("inputs[0].b").And.Contain("an object"));
    }

    [Test]
    public void ParseRequest_DuplicateFeatureInRow_Throws400()
    {
        Assert.That(Fails("""{"inputs": [{"a": 1, "a": 2}]}"""), Does.Contain("'a' twice"));
    }

    [Test]
    public void ParseRequest_ScalarInputs_Throws400ExplainingTheForms()
    {
        Assert.That(Fails("""{"inputs": [1, 2]}"""), Does.Contain("inputs[0]").And.Contain("rows as lists"));
    }

    [Test]
    public void SerializeRequest_Rows_RoundTripBothForms()
    {
        var lists = Parse("""{"inputs": [[1, "SFO", true, null]]}""");
        var objects = Parse("""{"inputs": [{"distance": 1, "origin": "SFO"}]}""");

        var lists2 = RoundTrip(lists).Rows!;
        var objects2 = RoundTrip(objects).Rows!;

        Assert.That(lists2.Rows[0].Values, Is.EqualTo(lists.Rows!.Rows[0].Values));
        Assert.That(objects2.Format, Is.EqualTo(RowsFormat.Objects));
        Assert.That(objects2.Rows[0].Names, Is.EqualTo(new[] { "distance", "origin" }));
        Assert.That(objects2.Rows[0].Values, Is.EqualTo(objects.Rows!.Rows[0].Values));
    }

    [Test]
    public void RowValue_WrongAccessor_ThrowsInvalidState()
    {
        Assert.Throws<InvalidStateException>(() => _ = RowValue.FromString("x").Number);
        Assert.Throws<InvalidStateException>(() => _ = RowValue.FromNumber(1).String);
        Assert.That(RowValue.FromBoolean(true).Number, Is.EqualTo(1));
    }
}
