package PVEBalancerTest::API;

# Calls the API the way pveproxy/pvedaemon (PVE::HTTPServer::rest_handler) and pvesh do: find
# the handler below PVE::API2 for method and path, check the method's permissions for the
# user, hand over credentials for expose_credentials methods, validate the parameters and run
# the code. Results are verified against the method's return schema too.

use strict;
use warnings;

use PVE::API2;
use PVE::RPCEnvironment;

sub call {
    my ($method, $path, $param, %opts) = @_;

    my $user = $opts{user} // 'root@pam';
    my $rpcenv = PVE::RPCEnvironment::get();
    $rpcenv->set_user($user);

    my $uri_param = {};
    my ($handler, $info) = PVE::API2->find_handler($method, $path, $uri_param);
    die "no '$method' handler for '$path'\n" if !$handler || !$info;

    my $p = { %{ $param // {} }, %$uri_param };
    $rpcenv->check_api2_permissions($info->{permissions}, $user, $p);

    $rpcenv->set_credentials({ userid => $user, ticket => "PVE:$user:TICKET", token => 'CSRF' })
        if $info->{expose_credentials};

    my $res = eval { $handler->handle($info, $p, $opts{verify} // 1) };
    my $err = $@;
    $rpcenv->set_credentials(undef);
    die $err if $err;

    return $res;
}

=head3 handler_info($method, $path)

The method info hash registered for C<$method> C<$path>.

=cut

sub handler_info {
    my ($method, $path) = @_;

    my ($handler, $info) = PVE::API2->find_handler($method, $path, {});
    return $info;
}

1;
