#!/usr/bin/perl
# The web server of the browser tests (make check-ui), on 127.0.0.1 only:
#
#   /                      the test page (tests/ui/page/index.html) with the session inlined
#   /ext/...               ExtJS from npm (extjs-gpl, build/)
#   /test/...              the test page's files and the doubles (tests/ui/page, tests/ui/doubles)
#   /pve2/js/pve-balancer.js   www/pve-balancer.js, at the URL it has on a node (built from the
#                          sources under www/ by www/Makefile when the server starts, so the
#                          file under test is never older than its sources)
#   /api2/{json,extjs}/cluster/balance...   the real API handlers (PVE::API2::Balancer, mounted
#                          by PVE::Balancer::APIRegister) on the Proxmox doubles of tests/perl and
#                          a simulated cluster (PVEBalancerTest::SimCluster)
#   /api2/{json,extjs}/nodes/{node}/tasks/{upid}/{status,log}   the task endpoints the task
#                          viewer polls, for the tasks the API started
#   POST /__test/reset     a new scenario: {fixture, user, acl, config, cluster, unmounted (the
#                          node has no pve-balancer: /cluster/balance answers 501)}; answers the
#                          session (user, GuiCap, CSRF token, nodes)
#   POST /__test/move      {vmid, node}: a guest moves behind the admin's back
#
# How a request is handled follows pve-manager's PVE::HTTPServer (auth_handler: the CSRF token
# is checked for everything but GET; rest_handler: find_handler, parameters from the URI and the
# body, check_api2_permissions, expose_credentials, handle, PVE::Exception -> status, message,
# errors) and pve-http-server's PVE::APIServer::Formatter::Standard (json: the HTTP status is the
# error's, body {data, message?, errors?}; extjs: always HTTP 200, body {success, data, message,
# status, errors}, 'total' when the handler set it). The task endpoints follow pve-manager's
# PVE::API2::Tasks read_task_status / read_task_log (lines {n, t}, 'no content' for an empty log,
# 'total' = line count). The worker of an apply runs in-process (the fork_worker double); its
# captured log is replayed at $lines_per_second, so the viewer sees a running task that writes
# line by line and then stops, as a real task does.
#
# Usage: server.pl [--port N]   prints "listening on http://127.0.0.1:PORT/" when ready.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl/lib";

use PVEBalancerTest::Setup;

use Getopt::Long;
use HTTP::Daemon;
use HTTP::Response;
use HTTP::Status qw(:constants status_message);
use IO::Select;
use JSON;
use Time::HiRes qw(time);
use URI;
use URI::Escape qw(uri_unescape);

use PVE::API2;
use PVE::Balancer::APIRegister;
use PVE::RPCEnvironment;

my $root = $PVEBalancerTest::Setup::root;
my $ui = "$root/tests/ui";
my $npm = $ENV{UI_NPM_DIR} // '/var/cache/pve-balancer/npm';
my $extjs = "$npm/node_modules/extjs-gpl/build";

my $port = 0;
GetOptions('port=i' => \$port) or die "usage: $0 [--port N]\n";

die "ExtJS not found in $extjs (run make deps)\n" if !-f "$extjs/ext-all.js";

# the UI as a node serves it: the classes of www/ concatenated by www/Makefile
system('make', '-s', '-C', "$root/www", 'pve-balancer.js') == 0
    or die "cannot build www/pve-balancer.js (make -C www)\n";

my $lines_per_second = 6;
my $json = JSON->new->utf8->canonical->allow_nonref;

my $session;

my %mime = (
    html => 'text/html; charset=utf-8',
    js => 'application/javascript; charset=utf-8',
    css => 'text/css; charset=utf-8',
    png => 'image/png',
    gif => 'image/gif',
    svg => 'image/svg+xml',
    woff => 'font/woff',
    woff2 => 'font/woff2',
    ttf => 'font/ttf',
    eot => 'application/vnd.ms-fontobject',
);

# pve-access-control's PVE::RPCEnvironment::compute_api_permission: per area, the privileges the
# user has on '/' (dc), '/vms', '/nodes', ... or on any ACL path below them
sub gui_cap {
    my ($rpcenv, $user, $acl) = @_;

    my $areas = {
        vms => qr/^VM\./,
        nodes => qr/^Sys\./,
        dc => qr/^(?:Sys\.Audit|Sys\.Modify|SDN\.)/,
        storage => qr/^Datastore\./,
        access => qr/^(?:User|Group)\./,
        sdn => qr/^SDN\./,
        mapping => qr/^Mapping\./,
    };
    my $cap = { map { $_ => {} } keys %$areas };
    my @paths = ('/', '/nodes', '/vms', '/storage', '/sdn', '/mapping', '/access/groups');
    push @paths, sort keys %{ $acl->{$user} // {} };
    for my $path (@paths) {
        my ($top) = $path =~ m!^/(\w+)!;
        my $area = $top // 'dc';
        my $re = $areas->{$area} or next;
        my $perm = $rpcenv->permissions($user, $path);
        for my $priv (keys %$perm) {
            $cap->{$area}->{$priv} = 1 if $priv =~ $re;
        }
    }
    if ($user eq 'root@pam') {
        $cap->{$_}->{'VM.PowerMgmt'} = $cap->{$_}->{'VM.Allocate'} = 1 for qw(vms);
        $cap->{nodes}->{$_} = 1 for qw(Sys.PowerMgmt Sys.Console);
    }
    return $cap;
}

sub reset_scenario {
    my ($req) = @_;

    my $fixture = $req->{fixture} // 'lab.json';
    $fixture = "$ui/fixtures/$fixture" if $fixture !~ m!^/!;
    my $user = $req->{user} // 'root@pam';
    my $acl = $req->{acl} // {};

    no warnings 'redefine';
    local *PVEBalancerTest::Setup::fixture = sub { $fixture };
    my ($sim, $env, $cfs) = PVEBalancerTest::Setup::cluster('ui', acl => $acl);
    if (defined(my $cfg = $req->{config})) {
        $env->write_cfs_file('balancer.cfg', $cfg);
    }

    my $rpcenv = PVE::RPCEnvironment::get();
    $session = {
        user => $user,
        acl => $acl,
        sim => $sim,
        env => $env,
        csrf => sprintf('%08X:TESTCSRF%d', int(time()), int(rand(1e9))),
        tasks => {},
        # a node without the package: pveproxy finds no handler for /cluster/balance
        unmounted => $req->{unmounted} ? 1 : 0,
    };
    return {
        user => $user,
        csrf => $session->{csrf},
        cap => gui_cap($rpcenv, $user, $acl),
        nodename => $sim->{nodename},
        nodes => [sort keys %{ $sim->{nodes} }],
        cluster => $req->{cluster} // 'lab',
    };
}

# pve-http-server PVE::APIServer::Formatter::Standard prepare_response_data + the formatter
sub api_response {
    my ($format, $res) = @_;

    my $status = $res->{status} // HTTP_OK;
    my $body = { data => $res->{data} };
    my $success = 1;
    if ($res->{errors} && %{ $res->{errors} }) {
        $success = 0;
        $body->{errors} = $res->{errors};
    }
    if ($format eq 'extjs') {
        if (HTTP::Status::is_error($status)) {
            $success = 0;
            $body->{message} = ($res->{message} // '') ne '' ? "$res->{message}" : status_message($status);
            $body->{status} = $status;
            $status = HTTP_OK;
        }
        $body->{success} = $success;
    } elsif (HTTP::Status::is_error($status)) {
        $body->{message} = ($res->{message} // '') ne '' ? "$res->{message}" : status_message($status);
    }
    $body->{total} = $res->{total} if $success && $res->{total};

    my $reason = HTTP::Status::is_error($status) && $res->{message}
        ? (split(/\n/, $res->{message}))[0] : status_message($status);
    my $r = HTTP::Response->new($status, $reason);
    $r->header('Content-Type' => 'application/json;charset=UTF-8');
    $r->content($json->encode($body));
    return $r;
}

# a task's log as far as it is written now (replayed from the captured log)
sub task_progress {
    my ($upid) = @_;

    my $t = $session->{tasks}->{$upid} or return;
    my $log = PVE::RPCEnvironment::get()->task_log($upid) // '';
    my @lines = split(/\n/, $log);
    my $shown = int((time() - $t->{started}) * $lines_per_second) + 1;
    my $done = $shown >= @lines;
    splice(@lines, $shown) if !$done;
    return (\@lines, $done);
}

# pve-manager PVE::API2::Tasks read_task_status / read_task_log, for the tasks of this server
sub task_call {
    my ($user, $node, $upid, $what, $param) = @_;

    my $t = $session->{tasks}->{$upid};
    die { status => HTTP_BAD_REQUEST, message => "Parameter verification failed.\n",
        errors => { upid => 'no such task' } } if !$t;
    my ($lines, $done) = task_progress($upid);
    if ($what eq 'status') {
        my (undef, $n, $pid, $pstart, $starttime, $type, $id, $tuser) = split(/:/, $upid);
        my $res = {
            upid => $upid, node => $n, pid => hex($pid), pstart => hex($pstart),
            starttime => hex($starttime), type => $type, id => $id, user => $tuser,
            status => $done ? 'stopped' : 'running',
        };
        if ($done) {
            my ($last) = grep { m/^TASK / } reverse @$lines;
            my $exit = $last // 'TASK ERROR: unexpected status';
            $exit =~ s/^TASK (?:ERROR: )?//;
            $res->{exitstatus} = $exit;
        }
        return { data => $res };
    }
    my $start = $param->{start} // 0;
    my $limit = $param->{limit} // 50;
    my @out;
    my $n = 0;
    for my $line (@$lines) {
        $n++;
        next if $n <= $start;
        last if @out >= $limit;
        push @out, { n => $n, t => $line };
    }
    if (!@$lines) {
        $n = 1;
        push @out, { n => 1, t => 'no content' };
    }
    return { data => \@out, total => $n };
}

# pve-manager PVE::HTTPServer rest_handler
sub api_call {
    my ($method, $path, $params) = @_;

    my $rpcenv = PVE::RPCEnvironment::get();
    my $user = $session->{user};

    if ($path =~ m!^/nodes/([^/]+)/tasks/([^/]+)/(status|log)$!) {
        return eval { task_call($user, $1, uri_unescape($2), $3, $params) } // do {
            my $err = $@;
            ref($err) eq 'HASH' ? $err : { status => 500, message => "$err" };
        };
    }

    my $res = { status => HTTP_NOT_IMPLEMENTED, message => "Method '$method $path' not implemented" };
    return $res if $session->{unmounted} && $path =~ m!^/cluster/balance\b!;
    my $info;
    eval {
        my $uri_param = {};
        my $handler;
        ($handler, $info) = PVE::API2->find_handler($method, $path, $uri_param);
        return if !$handler || !$info;
        $uri_param->{$_} = $params->{$_} for keys %$params;

        $rpcenv->set_user($user);
        $rpcenv->check_api2_permissions($info->{permissions}, $user, $uri_param);
        $rpcenv->set_credentials({ userid => $user, ticket => "PVE:$user:TICKET",
            token => $session->{csrf} }) if $info->{expose_credentials};

        # result verification on, as the API tests of tests/perl call the handlers
        my $data = $handler->handle($info, $uri_param, 1);
        $res = { status => HTTP_OK, data => $data };
        if (!ref($data) && defined($data) && $data =~ m/^UPID:/) {
            $session->{tasks}->{$data} = { started => time() };
        }
    };
    my $err = $@;
    $rpcenv->set_credentials(undef);
    if ($err) {
        if (ref($err) eq 'PVE::Exception') {
            $res = { status => $err->{code} || HTTP_INTERNAL_SERVER_ERROR, message => $err->{msg} };
            $res->{errors} = $err->{errors} if $err->{errors};
        } else {
            $res = { status => HTTP_INTERNAL_SERVER_ERROR, message => "$err" };
        }
    }
    return $res;
}

sub request_params {
    my ($r) = @_;

    my $uri = URI->new($r->uri);
    my %params = $uri->query_form;
    if ($r->method ne 'GET' && length($r->content // '')) {
        my $type = $r->header('Content-Type') // '';
        if ($type =~ m!application/json!) {
            my $body = decode_json($r->content);
            %params = (%params, %$body) if ref($body) eq 'HASH';
        } else {
            my $form = URI->new('http:');
            $form->query($r->content);
            %params = (%params, $form->query_form);
        }
    }
    delete $params{_dc}; # pve-http-server AnyEvent: ExtJS's cache buster is no parameter
    return \%params;
}

sub static_file {
    my ($file) = @_;

    return HTTP::Response->new(HTTP_NOT_FOUND, 'Not Found') if $file =~ m!\.\./! || !-f $file;
    open(my $fh, '<:raw', $file) or return HTTP::Response->new(HTTP_FORBIDDEN, 'Forbidden');
    local $/;
    my $content = <$fh>;
    close($fh);
    my ($ext) = $file =~ m/\.(\w+)$/;
    my $r = HTTP::Response->new(HTTP_OK, 'OK');
    $r->header('Content-Type' => $mime{ $ext // '' } // 'application/octet-stream');
    $r->header('Cache-Control' => 'max-age=600') if $file =~ m!^\Q$extjs\E!;
    $r->content($content);
    return $r;
}

sub handle {
    my ($r) = @_;

    my $uri = URI->new($r->uri);
    my $path = uri_unescape($uri->path);

    if ($path eq '/__test/reset' && $r->method eq 'POST') {
        my $res = reset_scenario(decode_json($r->content || '{}'));
        my $resp = HTTP::Response->new(HTTP_OK, 'OK');
        $resp->header('Content-Type' => 'application/json');
        $resp->content($json->encode($res));
        return $resp;
    }
    if ($path eq '/__test/move' && $r->method eq 'POST') {
        # the cluster changes behind the admin's back (a guest migrated by someone else)
        my $req = decode_json($r->content || '{}');
        $session->{sim}->move_guest($req->{vmid}, $req->{node});
        return HTTP::Response->new(HTTP_NO_CONTENT, 'No Content');
    }
    return HTTP::Response->new(HTTP_NO_CONTENT, 'No Content') if $path eq '/favicon.ico';
    if ($path eq '/' || $path eq '/index.html') {
        return HTTP::Response->new(HTTP_SERVICE_UNAVAILABLE, 'no scenario') if !$session;
        my $resp = static_file("$ui/page/index.html");
        my $s = {
            user => $session->{user},
            csrf => $session->{csrf},
            cap => gui_cap(PVE::RPCEnvironment::get(), $session->{user}, $session->{acl}),
            nodename => $session->{sim}->{nodename},
            nodes => [sort keys %{ $session->{sim}->{nodes} }],
        };
        my $html = $resp->content;
        my $inline = JSON->new->canonical->encode($s);
        $html =~ s/__SESSION__/$inline/;
        $resp->content($html);
        return $resp;
    }
    return static_file("$extjs/$1") if $path =~ m!^/ext/(.+)$!;
    return static_file("$ui/$1") if $path =~ m!^/test/((?:page|doubles)/[\w.\-]+)$!;
    return static_file("$root/www/pve-balancer.js") if $path eq '/pve2/js/pve-balancer.js';

    if ($path =~ m!^/api2/(json|extjs)(/.*)$!) {
        my ($format, $rel) = ($1, $2);
        return HTTP::Response->new(HTTP_SERVICE_UNAVAILABLE, 'no scenario') if !$session;
        # PVE::HTTPServer auth_handler: no CSRF token, no change
        if ($r->method ne 'GET') {
            my $token = $r->header('CSRFPreventionToken') // '';
            if ($token ne $session->{csrf}) {
                my $resp = HTTP::Response->new(HTTP_UNAUTHORIZED,
                    'Permission denied - invalid csrf token');
                return $resp;
            }
        }
        return api_response($format, api_call($r->method, $rel, request_params($r)));
    }
    return HTTP::Response->new(HTTP_NOT_FOUND, 'Not Found');
}

my $daemon = HTTP::Daemon->new(LocalAddr => '127.0.0.1', LocalPort => $port, ReuseAddr => 1)
    or die "cannot listen on 127.0.0.1:$port - $!\n";
$| = 1;
print "listening on http://127.0.0.1:" . $daemon->sockport . "/\n";

# One request per connection (Connection: close), connections served when readable, so an
# idle connection the browser opened ahead never blocks the others.
my $select = IO::Select->new($daemon);
$SIG{PIPE} = 'IGNORE';
$SIG{TERM} = $SIG{INT} = sub { exit(0) };
while (1) {
    for my $fh ($select->can_read(1)) {
        if ($fh == $daemon) {
            my $c = $daemon->accept or next;
            $select->add($c);
            next;
        }
        $select->remove($fh);
        $fh->timeout(5);
        my $r = $fh->get_request;
        if ($r) {
            my $resp = eval { handle($r) } // do {
                my $err = $@;
                warn "server error: $err";
                HTTP::Response->new(HTTP_INTERNAL_SERVER_ERROR, 'test server error');
            };
            $resp->header(Connection => 'close');
            $fh->force_last_request;
            $fh->send_response($resp);
        }
        $fh->close;
    }
}
