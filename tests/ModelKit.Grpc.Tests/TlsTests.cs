using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Grpc.Inference;
using ModelKit.Tests;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// The sample server's gRPC port over TLS (ModelKit:GrpcCertificate), as seed 001's Go client dials it: a self-signed
/// certificate made for the test, a channel that trusts exactly that certificate, HTTP/2 by ALPN.
/// </summary>
public sealed class TlsTests
{
    [Fact]
    public async Task GrpcPort_WithACertificate_ServesOverTls()
    {
        using var dir = new TempDirectory();
        using var certificate = SelfSigned();
        var pfx = dir.Combine("grpc.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-password"));

        await using var factory = new TlsSampleServer(dir.Combine("data"), pfx, "test-password");
        var https = new Uri(factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single(a => a.StartsWith("https://", StringComparison.Ordinal)));

        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString();
        using var channel = GrpcChannel.ForAddress(https, new GrpcChannelOptions { HttpHandler = handler });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel.Intercept(m =>
        {
            m.Add("x-api-key", GrpcSampleServer.AdminKey);
            return m;
        }));
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.Equal("modelkit", (await client.ServerMetadataAsync(new ServerMetadataRequest())).Name);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // server authentication
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    // The sample server with its default two ports moved to free loopback ports (0), the gRPC one with the certificate.
    private sealed class TlsSampleServer : WebApplicationFactory<Program>
    {
        private readonly string _data;
        private readonly string _pfx;
        private readonly string _password;

        public TlsSampleServer(string data, string pfx, string password)
        {
            (_data, _pfx, _password) = (data, pfx, password);
            UseKestrel();
            StartServer();
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("ModelKit:RestPort", "0");
            builder.UseSetting("ModelKit:GrpcPort", "0");
            builder.UseSetting("ModelKit:GrpcCertificate:Path", _pfx);
            builder.UseSetting("ModelKit:GrpcCertificate:Password", _password);
            builder.UseSetting("ModelKit:DataDirectory", _data);
            builder.UseSetting("ModelKit:ServeMiniLm", "false");
            builder.UseSetting("ModelKit:ServeChatModel", "false");
            builder.UseEnvironment("Development");
        }
    }
}
