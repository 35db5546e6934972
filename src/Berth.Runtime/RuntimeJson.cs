using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Runtime.Process;
using Berth.Runtime.Store;

namespace Berth.Runtime;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerRecord))]
[JsonSerializable(typeof(InitConfig))]
internal sealed partial class RuntimeJson : JsonSerializerContext
{
}
